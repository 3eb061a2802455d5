// The Switchboard softphone: signs in, keeps a signaling WebSocket to the server (protocol in
// the README), and runs one WebRTC call at a time. `window.softphone` exposes the state and the
// actions, so the end-to-end tests drive the page exactly as the buttons do.
"use strict";

const $ = (id) => document.getElementById(id);
const KEYS = ["1", "2", "3", "A", "4", "5", "6", "B", "7", "8", "9", "C", "*", "0", "#", "D"];
// How long to wait for ICE candidates before sending the offer (the server is ICE-lite and
// takes no trickled candidates, so the offer must carry them).
const GATHER_TIMEOUT_MS = 3000;

const sp = (window.softphone = {
  state: "signed-out", // signed-out, idle, ringing, calling, connected, ended
  user: null,
  call: null,
  incoming: null,
  peer: null,
  lastEnded: null,
  errors: [],
  rings: [],
  keysSent: "",
  connectedAt: null,
  meeting: null,
});

let socket = null;
let pc = null;
let localStream = null;
let analyser = null;
let timerHandle = null;
let registered = null;

function setStatus(text) {
  $("status").textContent = text;
}

function setState(state) {
  sp.state = state;
  $("call-state").textContent = state;
  $("in-call").hidden = !["calling", "connected"].includes(state);
  $("ringing").hidden = state !== "ringing";
  $("dialer").hidden = state === "signed-out";
  $("call-button").disabled = state !== "idle" && state !== "ended";
  $("join-button").disabled = $("call-button").disabled;
}

function send(message) {
  socket.send(JSON.stringify(message));
}

// ---- sign-in ----

async function loadUsers() {
  const response = await fetch("/softphone/users");
  const list = await response.json();
  if (!list.devLogin) return;
  $("dev-login").hidden = false;
  $("password-login").hidden = true;
  for (const user of list.users) {
    const option = document.createElement("option");
    option.value = user.id;
    option.textContent = user.displayName;
    $("dev-user").append(option);
  }
}

sp.signIn = async function (userId, password) {
  const response = await fetch("/softphone/login", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(password ? { user: userId, password } : { user: userId }),
  });
  const body = await response.json();
  if (!response.ok) {
    const message = (body.error && body.error.message) || response.statusText;
    setStatus("Sign-in failed: " + message);
    throw new Error(message);
  }
  sp.user = body.user;
  await openSocket(body.token);
  setStatus("Signed in as " + body.user.displayName + ". Ready.");
  $("sign-in").hidden = true;
  setState("idle");
  return sp.user;
};

function openSocket(token) {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  socket = new WebSocket(scheme + "://" + location.host + "/softphone/ws");
  socket.onmessage = (event) => handle(JSON.parse(event.data));
  socket.onclose = () => {
    setStatus("Disconnected from the server. Reload the page to sign in again.");
    endLocally({ reason: "signaling connection closed" });
    setState("signed-out");
  };
  return new Promise((resolve, reject) => {
    registered = { resolve, reject };
    socket.onopen = () => send({ type: "register", token });
  });
}

// ---- signaling ----

function handle(message) {
  switch (message.type) {
    case "registered":
      sp.endpoint = message.endpoint;
      registered && registered.resolve();
      break;
    case "ring":
      if (sp.state === "calling" || sp.state === "connected" || sp.state === "ringing") {
        send({ type: "decline", call: message.call });
        break;
      }
      sp.incoming = message;
      sp.rings.push(message);
      $("ringing-text").textContent = "Incoming call from " + describe(message.caller);
      setStatus("Ringing: " + describe(message.caller));
      setState("ringing");
      $("answer-button").focus();
      break;
    case "sdp":
      if (pc && message.call === sp.call) {
        pc.setRemoteDescription({ type: "answer", sdp: message.sdp }).catch((e) =>
          sp.errors.push({ message: "bad answer: " + e })
        );
      }
      break;
    case "state":
      onState(message);
      break;
    case "error":
      sp.errors.push(message);
      setStatus("Error: " + message.message);
      if (registered && !sp.user) registered.reject(new Error(message.message));
      // A refused call or answer: nothing will follow for it, so end it here.
      if (sp.state === "calling" && (message.call ? message.call === sp.call : !sp.call)) {
        endLocally({ reason: message.message });
      }
      break;
    case "muted":
      if (message.call !== sp.call) break;
      // The server drops our audio already; the microphone stays on so unmuting is instant.
      sp.serverMuted = true;
      setStatus("You were muted for everyone in the call. Press Unmute to speak again.");
      showMute(sp.muted);
      break;
    case "pong":
      break;
  }
}

function onState(message) {
  if (message.state === "calling") {
    sp.call = message.call;
    setState("calling");
    setStatus("Calling…");
  } else if (message.state === "connected") {
    // Joining a meeting: the first `connected` names the call.
    if (!sp.call && sp.state === "calling") sp.call = message.call;
    if (sp.call !== message.call) return;
    if (message.peer) sp.peer = message.peer;
    if (sp.state !== "connected") {
      sp.connectedAt = Date.now();
      timerHandle = setInterval(showTimer, 500);
    }
    $("call-peer").textContent = sp.peer ? describe(sp.peer) : "";
    setState("connected");
    setStatus("Connected" + (sp.peer ? " with " + describe(sp.peer) : "") + ".");
  } else if (message.state === "ended") {
    if (sp.incoming && sp.incoming.call === message.call && sp.state === "ringing") {
      sp.incoming = null;
    } else if (sp.call !== message.call) {
      return;
    }
    endLocally(message);
  }
}

function describe(party) {
  if (!party) return "";
  return (party.displayName || party.id) + (party.kind === "application" ? " (bot)" : "");
}

// ---- media ----

async function startMedia() {
  localStream = await navigator.mediaDevices.getUserMedia({ audio: true });
  pc = new RTCPeerConnection({ bundlePolicy: "max-bundle" });
  // Call setup as the user sees it: from the click to media flowing both ways.
  const connection = pc;
  pc.addEventListener("connectionstatechange", () => {
    if (connection.connectionState === "connected" && sp.clickedAt) {
      sp.setupMs = Date.now() - sp.clickedAt;
    }
  });
  for (const track of localStream.getAudioTracks()) pc.addTrack(track, localStream);
  pc.ontrack = (event) => {
    const stream = event.streams[0] || new MediaStream([event.track]);
    $("remote-audio").srcObject = stream;
    startMeter(stream);
  };
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise((resolve) => {
    if (pc.iceGatheringState === "complete") return resolve();
    const timeout = setTimeout(resolve, GATHER_TIMEOUT_MS);
    pc.addEventListener("icegatheringstatechange", () => {
      if (pc.iceGatheringState === "complete") {
        clearTimeout(timeout);
        resolve();
      }
    });
  });
  return pc.localDescription.sdp;
}

function startMeter(stream) {
  const context = new AudioContext();
  analyser = context.createAnalyser();
  analyser.fftSize = 1024;
  context.createMediaStreamSource(stream).connect(analyser);
  const samples = new Float32Array(analyser.fftSize);
  const draw = () => {
    if (!analyser) return;
    analyser.getFloatTimeDomainData(samples);
    let sum = 0;
    for (const s of samples) sum += s * s;
    sp.level = Math.sqrt(sum / samples.length);
    $("level").value = Math.min(1, sp.level * 4);
    requestAnimationFrame(draw);
  };
  draw();
}

function stopMedia() {
  sp.serverMuted = false;
  showMute(false);
  if (pc) pc.close();
  pc = null;
  if (localStream) localStream.getTracks().forEach((t) => t.stop());
  localStream = null;
  analyser = null;
  $("level").value = 0;
}

function endLocally(message) {
  sp.lastEnded = message;
  sp.call = null;
  sp.peer = null;
  clearInterval(timerHandle);
  stopMedia();
  if (sp.state !== "signed-out") setState("ended");
  const code = message.code ? " (" + message.code + "/" + message.subcode + ")" : "";
  setStatus("Call ended: " + (message.reason || "") + code + ".");
}

function showTimer() {
  const seconds = Math.floor((Date.now() - sp.connectedAt) / 1000);
  const mm = String(Math.floor(seconds / 60)).padStart(2, "0");
  const ss = String(seconds % 60).padStart(2, "0");
  $("timer").textContent = mm + ":" + ss;
}

// ---- actions ----

sp.callTarget = async function (kind, id) {
  sp.clickedAt = Date.now();
  sp.setupMs = null;
  setState("calling");
  setStatus("Calling…");
  const sdp = await startMedia();
  send({ type: "call", target: { [kind]: id }, sdp });
};

sp.join = async function (meeting) {
  sp.clickedAt = Date.now();
  sp.setupMs = null;
  setState("calling");
  setStatus("Joining the meeting…");
  const sdp = await startMedia();
  send({ type: "join", meeting, sdp });
};

sp.answer = async function () {
  sp.clickedAt = Date.now();
  sp.setupMs = null;
  const ring = sp.incoming;
  if (!ring) throw new Error("nothing is ringing");
  sp.incoming = null;
  sp.call = ring.call;
  sp.peer = ring.caller;
  setState("calling");
  setStatus("Answering…");
  const sdp = await startMedia();
  send({ type: "answer", call: ring.call, sdp });
};

sp.decline = function () {
  const ring = sp.incoming;
  if (!ring) throw new Error("nothing is ringing");
  // Still ringing until the server confirms with `state: ended`.
  send({ type: "decline", call: ring.call });
};

sp.hangUp = function () {
  if (!sp.call) return;
  send({ type: "hangup", call: sp.call });
};

sp.press = function (key) {
  const sender = pc && pc.getSenders().find((s) => s.track && s.track.kind === "audio");
  if (!sender || !sender.dtmf) throw new Error("no call to send keys on");
  sender.dtmf.insertDTMF(key, 120, 80);
  sp.keysSent += key;
  $("keys-sent").textContent = sp.keysSent;
};

// `muted`: our own microphone is off. The button shows "Unmute" while we are muted either way.
function showMute(muted) {
  sp.muted = muted;
  if (localStream) localStream.getAudioTracks().forEach((t) => (t.enabled = !muted));
  const silent = muted || !!sp.serverMuted;
  $("mute-button").setAttribute("aria-pressed", String(silent));
  $("mute-button").textContent = silent ? "Unmute" : "Mute";
}

sp.toggleMute = function () {
  if (!localStream) return false;
  if (sp.serverMuted) {
    // Muted by a bot: ask the server to let everyone hear us again.
    sp.serverMuted = false;
    send({ type: "unmute", call: sp.call });
    showMute(false);
  } else {
    showMute(!sp.muted);
  }
  return sp.muted;
};

// Received audio so far, from WebRTC statistics: energy and duration add up, so a window's
// mean power is (energy2 - energy1) / (duration2 - duration1).
sp.inboundAudio = async function () {
  if (!pc) return null;
  const stats = await pc.getStats();
  for (const report of stats.values()) {
    if (report.type === "inbound-rtp" && report.kind === "audio") {
      return {
        energy: report.totalAudioEnergy || 0,
        duration: report.totalSamplesDuration || 0,
        packets: report.packetsReceived || 0,
      };
    }
  }
  return null;
};

// ---- wiring ----

$("sign-in-button").addEventListener("click", () => {
  const dev = !$("dev-login").hidden;
  const user = dev ? $("dev-user").value : $("user-id").value.trim();
  sp.signIn(user, dev ? null : $("password").value).catch(() => {});
});
$("call-button").addEventListener("click", () =>
  sp.callTarget($("target-kind").value, $("target-id").value.trim())
);
$("join-button").addEventListener("click", () => sp.join(sp.meeting));
$("answer-button").addEventListener("click", () => sp.answer());
$("decline-button").addEventListener("click", () => sp.decline());
$("hangup-button").addEventListener("click", () => sp.hangUp());
$("mute-button").addEventListener("click", () => sp.toggleMute());
for (const key of KEYS) {
  const button = document.createElement("button");
  button.type = "button";
  button.textContent = key;
  button.setAttribute("aria-label", "key " + key);
  button.addEventListener("click", () => sp.press(key));
  $("keypad").append(button);
}

const meetingPath = location.pathname.match(/^\/meet\/([^/]+)$/);
if (meetingPath) {
  sp.meeting = decodeURIComponent(meetingPath[1]);
  $("join-button").hidden = false;
  $("call-button").hidden = true;
  setStatus("Sign in to join the meeting.");
}
setState("signed-out");
loadUsers().catch(() => {});
