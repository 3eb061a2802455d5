//! Headless Chromium calls the WebRTC edge: its fake microphone plays a tone that the edge must
//! decode, and the tone the edge sends back must raise the page's received audio energy.
//!
//! Both ICE paths a deployment meets are tested, each in a private network namespace so that no
//! packet leaves the machine: the edge advertising a non-loopback interface address (as on a
//! VM), and the edge advertising loopback to a browser started with
//! `--allow-loopback-in-peer-connection`.

mod support;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::mpsc::{Receiver, channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use support::audio::{dominant_frequency, tone, tone_purity};
use support::browser::{Browser, BrowserOptions};
use support::edge::{ToneSender, decode};
use support::netns;
use support::signaling::{SignalingRequest, TestSignaling};
use switchboard::webrtc::client::write_wav;
use switchboard::webrtc::{EdgeConfig, EdgeEvent, EdgeSocket, PeerId, WebRtcEdge};

const BROWSER_TONE_HZ: f64 = 700.0;
const EDGE_TONE_HZ: f64 = 1000.0;
/// The address of the namespace's stand-in NIC (a benchmarking range, routed nowhere).
const VM_ADDRESS: &str = "198.18.0.1/24";

/// What the edge sends: silence first (to measure the page's baseline), then the tone.
const SEND_SILENCE: u8 = 0;
const SEND_TONE: u8 = 1;

/// What the edge thread saw.
struct EdgeRun {
    events: Vec<(Instant, EdgeEvent)>,
    /// When negotiation completed for each peer (offer accepted, or answer applied).
    offered_at: HashMap<PeerId, Instant>,
    /// The browser's answer, when the edge called.
    answer: Option<String>,
}

/// Runs an edge on its own thread, as a media worker would: serves the signaling endpoint's
/// requests (`/offer`: the page calls; `/call` then `/answer`: the edge calls the page) and sends
/// silence or the tone to every connected peer.
fn spawn_edge(
    config: EdgeConfig,
    requests: Receiver<SignalingRequest>,
    stop: Arc<AtomicBool>,
    sending: Arc<AtomicU8>,
    events_at_8000: bool,
) -> JoinHandle<EdgeRun> {
    std::thread::spawn(move || {
        let mut socket = EdgeSocket::bind(config.bind).expect("bind the edge's UDP port");
        let candidates = config
            .host_candidates(socket.local_addr().unwrap())
            .expect("host candidates");
        println!("edge advertises {candidates:?}");
        let mut edge = WebRtcEdge::new(config, candidates).expect("edge settings");
        let mut sender = ToneSender::new(tone(EDGE_TONE_HZ, 48_000, 1.0, 0.3));
        let mut run = EdgeRun {
            events: Vec::new(),
            offered_at: HashMap::new(),
            answer: None,
        };
        let mut connected: Vec<PeerId> = Vec::new();
        let mut calling: Option<PeerId> = None;
        while !stop.load(Ordering::Relaxed) {
            let now = socket
                .turn(&mut edge, Instant::now() + Duration::from_millis(5))
                .expect("socket turn");
            while let Ok(request) = requests.try_recv() {
                let result = match request.path.as_str() {
                    "/offer" => {
                        let offer = if events_at_8000 {
                            without_payload_type(&request.body, "110")
                        } else {
                            request.body.clone()
                        };
                        edge.accept_offer(now, &offer).map(|(peer, answer)| {
                            run.offered_at.insert(peer, now);
                            answer
                        })
                    }
                    "/call" => edge.create_offer(now).map(|(peer, offer)| {
                        calling = Some(peer);
                        offer
                    }),
                    "/answer" => {
                        let peer = calling.expect("/call came first");
                        let answer = if events_at_8000 {
                            without_payload_type(&request.body, "110")
                        } else {
                            request.body.clone()
                        };
                        run.answer = Some(answer.clone());
                        edge.accept_answer(now, peer, &answer).map(|()| {
                            run.offered_at.insert(peer, now);
                            String::new()
                        })
                    }
                    other => panic!("unexpected request {other}"),
                };
                if let Err(e) = &result {
                    println!("{} refused: {e}\n{}", request.path, request.body);
                }
                let _ = request.reply.send(result.map_err(|e| e.to_string()));
            }
            while let Some(event) = edge.poll_event() {
                if let EdgeEvent::Connected { peer, .. } = &event {
                    connected.push(*peer);
                }
                run.events.push((now, event));
            }
            // One peer per run; with more, each would need its own sender.
            let muted = sending.load(Ordering::Relaxed) != SEND_TONE;
            for &peer in &connected {
                sender.send_due_muted(&mut edge, peer, now, muted);
            }
            socket.flush(&mut edge);
        }
        run
    })
}

/// Who calls whom, and at which telephone-event rate.
#[derive(Debug, Clone, Copy)]
struct Scenario {
    /// Chromium pairs loopback candidates (`--allow-loopback-in-peer-connection`).
    allow_loopback: bool,
    /// The edge makes the offer (a bot calling a person); otherwise the page does.
    edge_calls: bool,
    /// Negotiate telephone-event/8000 only, by removing 48000 from the browser's SDP.
    events_at_8000: bool,
}

/// Chromium's offer without one payload type: dropping 110 (telephone-event/48000) leaves
/// telephone-event/8000, so the browser must send its digits at 8000.
fn without_payload_type(sdp: &str, pt: &str) -> String {
    sdp.lines()
        .filter(|l| {
            !l.starts_with(&format!("a=rtpmap:{pt} ")) && !l.starts_with(&format!("a=fmtp:{pt} "))
        })
        .map(|l| {
            if l.starts_with("m=audio ") {
                l.split(' ')
                    .filter(|part| *part != pt)
                    .collect::<Vec<_>>()
                    .join(" ")
            } else {
                l.to_string()
            }
        })
        .map(|l| l + "\r\n")
        .collect()
}

/// One browser call to the edge; asserts audio both ways and digits pressed in the page, and
/// prints the setup times. With `events_at_8000` the edge is offered only
/// telephone-event/8000.
fn browser_call(config: EdgeConfig, scenario: Scenario) {
    let Scenario {
        allow_loopback,
        edge_calls,
        events_at_8000,
    } = scenario;
    let test_started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let microphone = dir.path().join("microphone.wav");
    write_wav(&microphone, &tone(BROWSER_TONE_HZ, 48_000, 2.0, 0.3)).unwrap();

    let (offers_in, offers) = channel();
    let stop = Arc::new(AtomicBool::new(false));
    let sending = Arc::new(AtomicU8::new(SEND_SILENCE));
    let edge_thread = spawn_edge(
        config,
        offers,
        Arc::clone(&stop),
        Arc::clone(&sending),
        events_at_8000,
    );
    let signaling = TestSignaling::start(
        include_str!("browser/edge_call.html").to_string(),
        offers_in,
    );

    let mut browser = Browser::launch(&BrowserOptions {
        fake_microphone: Some(microphone),
        allow_loopback,
        ..BrowserOptions::default()
    })
    .expect("launch Chromium");
    let page = browser.open(&signaling.url()).expect("open the test page");
    let setup_ms = browser
        .eval(
            &page,
            if edge_calls {
                "answerCall()"
            } else {
                "startCall()"
            },
        )
        .unwrap_or_else(|e| panic!("call failed: {e}\nconsole: {:?}", browser.console()));
    let pair = browser.eval(&page, "selectedPair()").unwrap();
    println!("page: offer to connected {setup_ms} ms, candidate pair {pair}");

    // Silence from the edge: the page's energy stays flat.
    browser
        .wait_for(
            &page,
            "inboundAudio().then(s => s.packetsReceived > 25)",
            Duration::from_secs(10),
        )
        .expect("audio packets reach the page");
    let quiet_start = energy(&mut browser, &page);
    std::thread::sleep(Duration::from_millis(800));
    let quiet_end = energy(&mut browser, &page);

    // The tone: the page's energy rises.
    sending.store(SEND_TONE, Ordering::Relaxed);
    std::thread::sleep(Duration::from_millis(300));
    let loud_start = energy(&mut browser, &page);
    std::thread::sleep(Duration::from_millis(1200));
    let loud_end = energy(&mut browser, &page);
    let level = browser
        .eval(&page, "inboundAudio().then(s => s.audioLevel)")
        .unwrap();

    // Keys pressed in the page: RFC 4733 through Chromium's RTCDTMFSender.
    let pressed_at = Instant::now();
    browser
        .eval(
            &page,
            "window.pc.getSenders()[0].dtmf.insertDTMF('1#5', 100, 70)",
        )
        .unwrap();
    browser
        .wait_for(
            &page,
            "window.pc.getSenders()[0].dtmf.toneBuffer === ''",
            Duration::from_secs(5),
        )
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));

    stop.store(true, Ordering::Relaxed);
    let run = edge_thread.join().expect("edge thread");
    drop(browser);

    let quiet = quiet_end - quiet_start;
    let loud = loud_end - loud_start;
    println!(
        "page energy: silence {quiet:.5} over 0.8 s, tone {loud:.5} over 1.2 s, level {level}"
    );
    // A 0.3 full-scale tone adds about 0.3² = 0.09 per second; silence adds nothing.
    assert!(quiet < 0.001, "energy rose during silence: {quiet}");
    assert!(loud > 0.03, "energy did not rise with the tone: {loud}");
    assert!(
        level.as_f64().unwrap() > 0.1,
        "audio level while the tone plays: {level}"
    );

    let (peer, connected_at, remote) = run
        .events
        .iter()
        .find_map(|(at, e)| match e {
            EdgeEvent::Connected { peer, remote, .. } => Some((*peer, *at, *remote)),
            _ => None,
        })
        .expect("the edge saw the browser connect");
    println!(
        "edge: negotiated to connected {:?}, browser at {remote:?}",
        connected_at - run.offered_at[&peer]
    );
    if !allow_loopback {
        let remote = remote.expect("a remote address");
        assert!(
            !remote.ip().is_loopback(),
            "the non-loopback path was used: {remote}"
        );
    }

    let mut packets: Vec<_> = run
        .events
        .iter()
        .filter_map(|(_, e)| match e {
            EdgeEvent::Audio { peer: p, packet } if *p == peer => Some(packet),
            _ => None,
        })
        .collect();
    packets.sort_by_key(|p| p.sequence);
    let pcm = decode(packets.iter().map(|p| &p.payload[..]));
    assert!(
        pcm.len() > 48_000,
        "the edge decoded only {} samples",
        pcm.len()
    );
    // Skip the first half second: the fake microphone and the encoder settle.
    let steady = &pcm[24_000..];
    let f = dominant_frequency(steady, 48_000, 100.0, 4000.0, 10.0);
    let purity = tone_purity(steady, 48_000, BROWSER_TONE_HZ);
    println!("edge heard the browser: {f} Hz, {purity:.2} of the power at {BROWSER_TONE_HZ} Hz");
    assert!((f - BROWSER_TONE_HZ).abs() <= 10.0, "edge heard {f} Hz");
    assert!(purity > 0.5, "edge heard a tone share of {purity:.2}");
    assert!(
        !run.events
            .iter()
            .any(|(_, e)| matches!(e, EdgeEvent::Disconnected { .. })),
        "no peer failed"
    );

    let reports: Vec<_> = run
        .events
        .iter()
        .filter_map(|(at, e)| match e {
            EdgeEvent::TelephoneEvent { peer: p, packet } if *p == peer => Some((*at, *packet)),
            _ => None,
        })
        .collect();
    let mut presses: Vec<(u32, u8)> = Vec::new();
    for (_, r) in &reports {
        if !presses.contains(&(r.rtp_timestamp, r.event())) {
            presses.push((r.rtp_timestamp, r.event()));
        }
    }
    let digits: Vec<u8> = presses.iter().map(|p| p.1).collect();
    assert_eq!(digits, vec![1, 11, 5], "each key once, in order");
    // Which rate the browser sends at: 8000 when only 8000 was negotiated; 48000 when the edge
    // answered the browser's offer (it keeps Opus's rate). When the browser answers our offer
    // with both rates, Chromium 156 picks 8000 (and then sends only end reports, with a duration
    // counted on the 48 kHz clock): any rate is accepted there, as long as each key comes once.
    let rate = reports[0].1.clock_rate;
    assert!(
        reports.iter().all(|(_, r)| r.clock_rate == rate),
        "one rate throughout"
    );
    match (events_at_8000, edge_calls) {
        (true, _) => assert_eq!(rate, 8000),
        (false, false) => assert_eq!(rate, 48_000),
        (false, true) => assert!(rate == 8000 || rate == 48_000, "rate {rate}"),
    }
    if rate == 48_000 {
        // At Opus's rate Chromium sends proper reports: a start, updates, and the end with the
        // 100 ms the page asked for (to a 20 ms frame).
        for digit in [1u8, 11, 5] {
            let of_digit: Vec<_> = reports
                .iter()
                .map(|(_, r)| r)
                .filter(|r| r.event() == digit)
                .collect();
            assert!(
                of_digit.iter().any(|r| !r.is_end()),
                "digit {digit}: {of_digit:?}"
            );
            assert!(
                of_digit[0].marker,
                "digit {digit}: the first report has the marker"
            );
            let end = of_digit.iter().find(|r| r.is_end()).expect("an end report");
            let ms = u32::from(end.duration_units()) / 48;
            assert!((90..=130).contains(&ms), "digit {digit} lasted {ms} ms");
        }
    }
    let first_report = reports[0].0 - pressed_at;
    println!(
        "first RFC 4733 report at the edge {first_report:?} after insertDTMF was called \
         (telephone-event/{rate})"
    );
    println!("browser test took {:?}", test_started.elapsed());
}

fn energy(browser: &mut Browser, page: &support::browser::Page) -> f64 {
    browser
        .eval(page, "inboundAudio().then(s => s.totalAudioEnergy)")
        .unwrap()
        .as_f64()
        .unwrap()
}

#[test]
fn chromium_reaches_the_edge_on_an_advertised_non_loopback_address() {
    if !netns::isolate(
        "chromium_reaches_the_edge_on_an_advertised_non_loopback_address",
        Some(VM_ADDRESS),
    ) {
        return;
    }
    // No public address and no loopback: the edge advertises the machine's interface address.
    let config = EdgeConfig {
        bind: "0.0.0.0:0".parse().unwrap(),
        ..EdgeConfig::default()
    };
    browser_call(
        config,
        Scenario {
            allow_loopback: false,
            edge_calls: false,
            events_at_8000: false,
        },
    );
}

#[test]
fn chromium_reaches_the_edge_on_loopback_when_allowed() {
    if !netns::isolate("chromium_reaches_the_edge_on_loopback_when_allowed", None) {
        return;
    }
    let config = EdgeConfig {
        bind: "127.0.0.1:0".parse().unwrap(),
        advertise_loopback: true,
        ..EdgeConfig::default()
    };
    browser_call(
        config,
        Scenario {
            allow_loopback: true,
            edge_calls: false,
            events_at_8000: true,
        },
    );
}

#[test]
fn chromium_answers_a_call_from_the_edge() {
    if !netns::isolate("chromium_answers_a_call_from_the_edge", None) {
        return;
    }
    let config = EdgeConfig {
        bind: "127.0.0.1:0".parse().unwrap(),
        advertise_loopback: true,
        ..EdgeConfig::default()
    };
    browser_call(
        config,
        Scenario {
            allow_loopback: true,
            edge_calls: true,
            events_at_8000: false,
        },
    );
}
