"""Two bots call each other through Switchboard, driven by the official Python msgraph-sdk.

Run by tests/media_sdk.rs, which starts the server. Protocol on stdio:
  1. this script starts its two webhook receivers and a prompt server, then prints
     `READY {"a_hook": ..., "b_hook": ...}`;
  2. it reads one JSON line: {"base": "http://127.0.0.1:PORT", "tenant", "a_id", "b_id", "secret"};
  3. it runs the scenario, asserting as it goes, prints `SDK-RESULT {...}` and exits 0
     (any failed assertion: a traceback and exit 1).

Scenario: bot A calls bot B; B's webhook gets the incoming call and B answers; B subscribes to
tones and starts a recordResponse that stops on '#'; A plays a speech prompt and sends the tones
1 2 3 #; B must receive exactly those tones, each naming A's participant id; B's recording
downloads with its token (and not without it) and follows A's prompt; A hangs up and both see
their documented final states.
"""

import array
import asyncio
import http.server
import json
import math
import os
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import wave

from kiota_abstractions.authentication import (
    AccessTokenProvider,
    AllowedHostsValidator,
    BaseBearerTokenAuthenticationProvider,
)
from msgraph import GraphRequestAdapter, GraphServiceClient
from msgraph.generated.communications.calls.item.answer.answer_post_request_body import (
    AnswerPostRequestBody,
)
from msgraph.generated.communications.calls.item.play_prompt.play_prompt_post_request_body import (
    PlayPromptPostRequestBody,
)
from msgraph.generated.communications.calls.item.record_response.record_response_post_request_body import (
    RecordResponsePostRequestBody,
)
from msgraph.generated.communications.calls.item.send_dtmf_tones.send_dtmf_tones_post_request_body import (
    SendDtmfTonesPostRequestBody,
)
from msgraph.generated.communications.calls.item.subscribe_to_tone.subscribe_to_tone_post_request_body import (
    SubscribeToTonePostRequestBody,
)
from msgraph.generated.models.call import Call
from msgraph.generated.models.call_state import CallState
from msgraph.generated.models.identity import Identity
from msgraph.generated.models.identity_set import IdentitySet
from msgraph.generated.models.invitation_participant_info import InvitationParticipantInfo
from msgraph.generated.models.media_info import MediaInfo
from msgraph.generated.models.media_prompt import MediaPrompt
from msgraph.generated.models.modality import Modality
from msgraph.generated.models.operation_status import OperationStatus
from msgraph.generated.models.record_operation import RecordOperation
from msgraph.generated.models.service_hosted_media_config import ServiceHostedMediaConfig
from msgraph.generated.models.tone import Tone

HERE = os.path.dirname(os.path.abspath(__file__))
SPEECH = os.path.join(HERE, "..", "..", "fixtures", "speech-vm-intro-8k.wav")
WAIT = 20.0


class Inbox:
    """Notifications POSTed to one bot's webhook, in arrival order."""

    def __init__(self):
        self.items = []
        self.lock = threading.Lock()
        self.bearer_seen = 0

    def add(self, notifications, bearer):
        with self.lock:
            self.items.extend(notifications)
            self.bearer_seen += int(bearer)

    def snapshot(self):
        with self.lock:
            return list(self.items)

    async def wait_for(self, what, predicate, timeout=WAIT):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for n in self.snapshot():
                if predicate(n):
                    return n
            await asyncio.sleep(0.05)
        raise AssertionError(f"no notification for {what}; got {json.dumps(self.snapshot(), indent=1)[:4000]}")


def serve(handler_class):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler_class)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def webhook(inbox):
    class Hook(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            auth = self.headers.get("Authorization", "")
            inbox.add(json.loads(body).get("value", []), auth.startswith("Bearer "))
            self.send_response(202)
            self.end_headers()

        def log_message(self, *args):
            pass

    return serve(Hook)


def prompt_server():
    with open(SPEECH, "rb") as f:
        speech = f.read()

    class Prompts(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path != "/speech.wav":
                self.send_response(404)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "audio/wav")
            self.send_header("Content-Length", str(len(speech)))
            self.end_headers()
            self.wfile.write(speech)

        def log_message(self, *args):
            pass

    return serve(Prompts)


class StaticToken(AccessTokenProvider):
    def __init__(self, token):
        self.token = token
        self.hosts = AllowedHostsValidator([])

    async def get_authorization_token(self, uri, additional_authentication_context={}):
        return self.token

    def get_allowed_hosts_validator(self):
        return self.hosts


def client(base_url, token):
    adapter = GraphRequestAdapter(BaseBearerTokenAuthenticationProvider(StaticToken(token)))
    adapter.base_url = base_url  # before the client is built, as the SDK requires
    return GraphServiceClient(request_adapter=adapter)


def token(base, tenant, app_id, secret):
    form = urllib.parse.urlencode(
        {
            "grant_type": "client_credentials",
            "client_id": app_id,
            "client_secret": secret,
            "scope": "https://graph.microsoft.com/.default",
        }
    ).encode()
    with urllib.request.urlopen(f"{base}/{tenant}/oauth2/v2.0/token", data=form) as r:
        return json.load(r)["access_token"]


def wav_samples(data):
    with wave.open(data if hasattr(data, "read") else open(data, "rb")) as w:
        assert w.getnchannels() == 1 and w.getsampwidth() == 2, "mono 16-bit"
        samples = array.array("h", w.readframes(w.getnframes()))
        return samples, w.getframerate()


def envelope(samples, rate):
    n = rate // 50
    out = []
    for i in range(0, len(samples) - n + 1, n):
        frame = samples[i : i + n]
        out.append(10 * math.log10(sum(s * s for s in frame) / n + 1))
    return out


def best_correlation(haystack, probe):
    best = -1.0
    for lag in range(0, max(1, len(haystack) - len(probe) + 1)):
        h = haystack[lag : lag + len(probe)]
        p = probe[: len(h)]
        mh, mp = sum(h) / len(h), sum(p) / len(p)
        num = sum((x - mh) * (y - mp) for x, y in zip(h, p))
        dh = math.sqrt(sum((x - mh) ** 2 for x in h))
        dp = math.sqrt(sum((y - mp) ** 2 for y in p))
        if dh > 0 and dp > 0:
            best = max(best, num / (dh * dp))
    return best


def is_state(n, call_id, state):
    return n["resourceUrl"] == f"/communications/calls/{call_id}" and n["resourceData"].get("state") == state


def op_end(call_id, op_id):
    return lambda n: n["resourceUrl"] == f"/communications/calls/{call_id}/operations/{op_id}" and n["changeType"] == "deleted"


async def scenario(setup, hooks, prompt_url):
    base = setup["base"]
    a_inbox, b_inbox = hooks
    a = client(f"{base}/v1.0", token(base, setup["tenant"], setup["a_id"], setup["secret"]))
    b = client(f"{base}/v1.0", token(base, setup["tenant"], setup["b_id"], setup["secret"]))
    a_hook, b_hook = setup["a_hook"], setup["b_hook"]

    # A calls B (P2P, service-hosted media), exactly as the SDK builds it.
    created = await a.communications.calls.post(
        Call(
            callback_uri=a_hook,
            targets=[InvitationParticipantInfo(identity=IdentitySet(application=Identity(id=setup["b_id"], display_name="Bot B")))],
            requested_modalities=[Modality.Audio],
            media_config=ServiceHostedMediaConfig(),
        )
    )
    a_call = created.id
    assert created.state == CallState.Establishing, created.state

    # B's webhook gets the incoming call; B answers.
    incoming = await b_inbox.wait_for("B's incoming call", lambda n: n["changeType"] == "created")
    assert incoming["resourceData"]["state"] == "incoming", incoming
    b_call = incoming["resourceData"]["id"]
    await b.communications.calls.by_call_id(b_call).answer.post(
        AnswerPostRequestBody(callback_uri=b_hook, accepted_modalities=[Modality.Audio], media_config=ServiceHostedMediaConfig())
    )
    await a_inbox.wait_for("A established", lambda n: is_state(n, a_call, "established"))
    await b_inbox.wait_for("B established", lambda n: is_state(n, b_call, "established"))
    b_view = await b.communications.calls.by_call_id(b_call).get()
    assert b_view.state == CallState.Established, b_view.state

    roster = await b.communications.calls.by_call_id(b_call).participants.get()
    a_participant = next(
        p.id for p in roster.value if p.info and p.info.identity and p.info.identity.application and p.info.identity.application.id == setup["a_id"]
    )

    # B listens for keys and records; A plays a prompt, then sends keys in-band.
    b_item = b.communications.calls.by_call_id(b_call)
    subscribed = await b_item.subscribe_to_tone.post(SubscribeToTonePostRequestBody(client_context="tones"))
    assert subscribed.status == OperationStatus.Completed, subscribed.status
    recording = await b_item.record_response.post(
        RecordResponsePostRequestBody(
            max_record_duration_in_seconds=20,
            initial_silence_timeout_in_seconds=10,
            max_silence_timeout_in_seconds=5,
            play_beep=False,
            stop_tones=["#"],
            client_context="record",
        )
    )
    assert recording.status == OperationStatus.Running, recording.status
    a_item = a.communications.calls.by_call_id(a_call)
    played = await a_item.play_prompt.post(
        PlayPromptPostRequestBody(prompts=[MediaPrompt(media_info=MediaInfo(uri=prompt_url, resource_id="vm-intro"))], client_context="play")
    )
    keys = await a_item.send_dtmf_tones.post(
        SendDtmfTonesPostRequestBody(tones=[Tone.Tone1, Tone.Tone2, Tone.Tone3, Tone.Pound], delay_between_tones_ms=150)
    )

    for op in (played, keys):
        end = await a_inbox.wait_for(f"A's operation {op.id}", op_end(a_call, op.id), timeout=30)
        assert end["resourceData"]["status"] == "completed", end
    rec_end = await b_inbox.wait_for("B's recording", op_end(b_call, recording.id), timeout=30)
    assert rec_end["resourceData"]["status"] == "completed", rec_end

    # The SDK reads the finished operation back as a recordOperation.
    rec_view = await b_item.operations.by_comms_operation_id(recording.id).get()
    assert isinstance(rec_view, RecordOperation), type(rec_view)
    assert rec_view.status == OperationStatus.Completed, rec_view.status
    location, access = rec_view.recording_location, rec_view.recording_access_token
    assert location and access, rec_view

    tones = [
        (n["resourceData"]["toneInfo"]["tone"], n["resourceData"]["toneInfo"].get("participantId"))
        for n in b_inbox.snapshot()
        if isinstance(n.get("resourceData"), dict) and "toneInfo" in n["resourceData"]
    ]
    expected = [(t, a_participant) for t in ("tone1", "tone2", "tone3", "pound")]
    assert tones == expected, f"B heard {tones}; expected {expected}"

    # The recording: refused without its token, and it is A's prompt.
    try:
        urllib.request.urlopen(location)
        raise AssertionError("a recording was served without its token")
    except urllib.error.HTTPError as e:
        assert e.code == 401, e.code
    request = urllib.request.Request(location, headers={"Authorization": f"Bearer {access}"})
    with urllib.request.urlopen(request) as r:
        import io

        recorded, rate = wav_samples(io.BytesIO(r.read()))
    prompt, prompt_rate = wav_samples(SPEECH)
    correlation = best_correlation(envelope(recorded, rate), envelope(prompt, prompt_rate))
    seconds = len(recorded) / rate
    assert rate == 16000, rate
    assert seconds > len(prompt) / prompt_rate, seconds
    assert correlation > 0.8, f"the recording does not follow A's prompt (envelope correlation {correlation:.3f})"

    # A hangs up: A ends 200/5001, B ends 200/4521 (the peer hung up).
    await a_item.delete()
    a_end = await a_inbox.wait_for("A terminated", lambda n: is_state(n, a_call, "terminated"))
    b_end = await b_inbox.wait_for("B terminated", lambda n: is_state(n, b_call, "terminated"))
    a_info, b_info = a_end["resourceData"]["resultInfo"], b_end["resourceData"]["resultInfo"]
    assert (a_info["code"], a_info["subcode"]) == (200, 5001), a_info
    assert (b_info["code"], b_info["subcode"]) == (200, 4521), b_info
    assert a_inbox.bearer_seen > 0 and b_inbox.bearer_seen > 0, "notifications carry a bearer JWT"
    return {
        "tones": tones,
        "a_participant": a_participant,
        "recording_seconds": round(seconds, 2),
        "correlation": round(correlation, 3),
        "a_final": [a_info["code"], a_info["subcode"]],
        "b_final": [b_info["code"], b_info["subcode"]],
    }


def main():
    inboxes = (Inbox(), Inbox())
    hooks = [webhook(i) for i in inboxes]
    prompts = prompt_server()
    a_hook = f"http://127.0.0.1:{hooks[0].server_address[1]}/a"
    b_hook = f"http://127.0.0.1:{hooks[1].server_address[1]}/b"
    print("READY " + json.dumps({"a_hook": a_hook, "b_hook": b_hook}), flush=True)
    setup = json.loads(sys.stdin.readline())
    setup.update(a_hook=a_hook, b_hook=b_hook)
    prompt_url = f"http://127.0.0.1:{prompts.server_address[1]}/speech.wav"
    result = asyncio.run(asyncio.wait_for(scenario(setup, inboxes, prompt_url), 90))
    print("SDK-RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
