//! People on WebRTC legs in conversations of the media engine, each person a str0m client over
//! real loopback UDP with real Opus: a bot and a person (audio both ways, an RFC 4733 key named
//! after its presser, once), two people with nobody else, a bot joining two people (the move onto
//! the conference mix and back, a key named after its presser), a conference of three people and a
//! bot (everyone hears everyone else's tone and not their own, server mute, a person leaving), and
//! people whose media is lost (vanished after connecting, never connected).
//!
//! The signaling routes that hand a browser's offer to the engine belong to the softphone, so
//! these tests call `MediaEngine::accept_webrtc_offer` themselves, as those routes do.

mod support;
mod webrtc_support;

use std::time::Duration;

use switchboard::calls::media::{MediaCommand, MediaEvent};
use switchboard::calls::result_codes::ResultCode;
use switchboard::media_plane::WebRtcLegState;
use webrtc_support::{Person, Rig, assert_tones};

const BOT_HZ: f64 = 1900.0;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bot_and_a_person_hear_each_other_and_the_bot_gets_the_persons_key_once() {
    let mut rig = Rig::start(|_| {});
    rig.tone_prompt("bot-tone", BOT_HZ, 3.0);
    let mut ann = rig.join("p2p", "ann", 700.0).await;
    rig.connect(&mut [&mut ann]).await;
    let bot = rig.bot(&mut [&mut ann], "p2p", "bot").await;
    rig.plane
        .submit(MediaCommand::SubscribeTones { call: bot.clone() })
        .unwrap();
    rig.play(&bot, "bot-tone");
    rig.record(&bot, "record-ann", 2);

    // While the bot plays: Ann hears its tone, not her own; she presses 7 (RFC 4733).
    rig.run(&mut [&mut ann], Duration::from_millis(600)).await;
    let mark = ann.mark();
    let before_key = rig.seen.len();
    ann.client
        .send_digit(std::time::Instant::now(), 7, Duration::from_millis(120))
        .unwrap();
    rig.run(&mut [&mut ann], Duration::from_millis(1500)).await;
    assert_tones("ann", &ann.heard_since(mark), &[BOT_HZ], &[700.0]);
    let keys: Vec<MediaEvent> = rig
        .events_since(before_key)
        .into_iter()
        .filter(|e| matches!(e, MediaEvent::ToneDetected { .. }))
        .collect();
    assert_eq!(
        keys,
        vec![MediaEvent::ToneDetected {
            call: bot.clone(),
            tone: switchboard_media::dtmf::Digit::D7,
            participant: Some(ann.leg.participant.clone()),
        }],
        "one key, named after Ann"
    );

    // Then the bot records what it hears: Ann's tone.
    let outcome = rig
        .finished(&mut [&mut ann], "record-ann", Duration::from_secs(10))
        .await;
    assert_eq!(outcome.result, ResultCode::RecordMaxDuration, "{outcome:?}");
    let clip = rig.recording_pcm(&outcome);
    assert_tones("the bot", &clip[clip.len() / 4..], &[700.0], &[BOT_HZ]);
    // Still exactly one key after everything.
    let keys = rig
        .events_since(0)
        .into_iter()
        .filter(|e| matches!(e, MediaEvent::ToneDetected { .. }))
        .count();
    assert_eq!(keys, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_people_with_nobody_else_hear_each_other() {
    let mut rig = Rig::start(|_| {});
    // Ann's media connects before Bob is even offered (a caller's media comes up first).
    let mut ann = rig.join("u2u", "ann", 600.0).await;
    rig.connect(&mut [&mut ann]).await;
    let mut bob = rig.join("u2u", "bob", 1100.0).await;
    rig.connect(&mut [&mut ann, &mut bob]).await;
    rig.run(&mut [&mut ann, &mut bob], Duration::from_millis(300))
        .await;
    let (a, b) = (ann.mark(), bob.mark());
    rig.run(&mut [&mut ann, &mut bob], Duration::from_millis(1500))
        .await;
    assert_tones("ann", &ann.heard_since(a), &[1100.0], &[600.0]);
    assert_tones("bob", &bob.heard_since(b), &[600.0], &[1100.0]);
    assert_eq!(ann.client.undecodable_packets(), 0);
    assert_eq!(bob.client.undecodable_packets(), 0);
}

/// Measures what each person hears over `window` and checks it against `expect(person)`
/// (tones heard, tones absent).
async fn check_window(
    rig: &mut Rig,
    people: &mut [&mut Person],
    window: Duration,
    expect: impl Fn(&Person) -> (Vec<f64>, Vec<f64>),
) {
    let marks: Vec<usize> = people.iter().map(|p| p.mark()).collect();
    rig.run(people, window).await;
    for (person, mark) in people.iter().zip(marks) {
        let (heard, absent) = expect(person);
        assert_tones(
            person.leg.participant.as_str(),
            &person.heard_since(mark),
            &heard,
            &absent,
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_people_and_a_bot_hear_everyone_else_until_muted_or_gone() {
    let mut rig = Rig::start(|_| {});
    rig.tone_prompt("bot-tone", BOT_HZ, 3.0);
    let tones = [500.0, 800.0, 1300.0];
    let mut ann = rig.join("meeting", "ann", tones[0]).await;
    let mut bob = rig.join("meeting", "bob", tones[1]).await;
    let mut cat = rig.join("meeting", "cat", tones[2]).await;
    rig.connect(&mut [&mut ann, &mut bob, &mut cat]).await;
    let bot = rig
        .bot(&mut [&mut ann, &mut bob, &mut cat], "meeting", "bot")
        .await;
    rig.play(&bot, "bot-tone");
    rig.record(&bot, "record-all", 2);
    rig.run(
        &mut [&mut ann, &mut bob, &mut cat],
        Duration::from_millis(500),
    )
    .await;

    // While the bot plays: each person hears the two others and the bot, not themself.
    let everyone = [tones[0], tones[1], tones[2], BOT_HZ];
    check_window(
        &mut rig,
        &mut [&mut ann, &mut bob, &mut cat],
        Duration::from_millis(1500),
        |p| {
            let others = everyone.iter().copied().filter(|&f| f != p.tone_hz);
            (others.collect(), vec![p.tone_hz])
        },
    )
    .await;
    // Then the bot records: the three people, not its own (finished) prompt.
    let outcome = rig
        .finished(
            &mut [&mut ann, &mut bob, &mut cat],
            "record-all",
            Duration::from_secs(10),
        )
        .await;
    let clip = rig.recording_pcm(&outcome);
    assert_tones("the bot", &clip[clip.len() / 4..], &tones, &[BOT_HZ]);
    // The conference decodes everyone, so the roster hears who speaks.
    for person in [&ann, &bob, &cat] {
        let speaking = MediaEvent::SpeakingChanged {
            conversation: person.leg.conversation.clone(),
            participant: person.leg.participant.clone(),
            speaking: true,
        };
        assert!(
            rig.events_since(0).contains(&speaking),
            "{speaking:?} missing"
        );
    }

    // The server mutes Bob: nobody hears his tone; he still hears the others.
    rig.plane
        .submit(MediaCommand::SetServerMuted {
            conversation: bob.leg.conversation.clone(),
            participant: bob.leg.participant.clone(),
            muted: true,
        })
        .unwrap();
    rig.record(&bot, "record-muted", 2);
    rig.run(
        &mut [&mut ann, &mut bob, &mut cat],
        Duration::from_millis(300),
    )
    .await;
    check_window(
        &mut rig,
        &mut [&mut ann, &mut bob, &mut cat],
        Duration::from_millis(1500),
        |p| match p.tone_hz {
            f if f == tones[0] => (vec![tones[2]], vec![tones[0], tones[1]]),
            f if f == tones[1] => (vec![tones[0], tones[2]], vec![tones[1]]),
            _ => (vec![tones[0]], vec![tones[2], tones[1]]),
        },
    )
    .await;
    let outcome = rig
        .finished(
            &mut [&mut ann, &mut bob, &mut cat],
            "record-muted",
            Duration::from_secs(10),
        )
        .await;
    let clip = rig.recording_pcm(&outcome);
    assert_tones(
        "the bot (Bob muted)",
        &clip[clip.len() / 4..],
        &[tones[0], tones[2]],
        &[tones[1]],
    );

    // Cat hangs up (DTLS close_notify): her leg ends as closed by her, once, and nobody hears
    // her any more.
    let from = rig.seen.len();
    cat.client.close(std::time::Instant::now()).unwrap();
    cat.driven = false;
    let cat_call = cat.leg.call.clone();
    let (_, gone) = rig
        .wait_for(
            &mut [&mut ann, &mut bob],
            Duration::from_secs(5),
            "Cat's hang-up",
            |e| matches!(e, MediaEvent::LegFailed { call, .. } if *call == cat_call),
        )
        .await;
    println!("cat left: {gone:?}");
    assert_eq!(*cat.state.borrow(), WebRtcLegState::ClosedByPeer);
    // The bot plays again, so what Ann and Bob hear is not silence.
    rig.play(&bot, "bot-tone");
    rig.run(&mut [&mut ann, &mut bob], Duration::from_millis(500))
        .await;
    check_window(
        &mut rig,
        &mut [&mut ann, &mut bob],
        Duration::from_millis(1500),
        |p| {
            let absent = vec![tones[2], tones[1], p.tone_hz];
            (vec![BOT_HZ], absent)
        },
    )
    .await;
    let ended = rig
        .events_since(from)
        .into_iter()
        .filter(|e| matches!(e, MediaEvent::LegFailed { .. }))
        .count();
    assert_eq!(
        ended,
        1,
        "only Cat's leg ended: {:?}",
        rig.events_since(from)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_who_vanishes_is_detected_within_the_silence_timeout() {
    // The default settings: 5 s without a packet.
    let mut rig = Rig::start(|_| {});
    let mut ann = rig.join("vanish", "ann", 700.0).await;
    let mut bob = rig.join("vanish", "bob", 900.0).await;
    rig.connect(&mut [&mut ann, &mut bob]).await;
    rig.run(&mut [&mut ann, &mut bob], Duration::from_millis(500))
        .await;
    // Ann's browser is gone: no packet, no ICE, no close_notify.
    ann.driven = false;
    let gone_at = std::time::Instant::now();
    let ann_call = ann.leg.call.clone();
    let (seen_at, event) = rig
        .wait_for(
            &mut [&mut ann, &mut bob],
            Duration::from_secs(10),
            "Ann's leg to fail",
            |e| matches!(e, MediaEvent::LegFailed { call, .. } if *call == ann_call),
        )
        .await;
    println!(
        "vanished peer detected after {:?}: {event:?}",
        seen_at - gone_at
    );
    let MediaEvent::LegFailed { detail, .. } = &event else {
        unreachable!()
    };
    assert!(!detail.is_empty());
    assert!(
        matches!(&*ann.state.borrow(), WebRtcLegState::Failed { .. }),
        "{:?}",
        *ann.state.borrow()
    );
    // Bob, still there, is not affected.
    assert!(matches!(
        *bob.state.borrow(),
        WebRtcLegState::Connected { .. }
    ));
    let failures = rig
        .events_since(0)
        .into_iter()
        .filter(|e| matches!(e, MediaEvent::LegFailed { .. }))
        .count();
    assert_eq!(failures, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_who_never_connects_fails_at_the_connect_timeout() {
    let mut rig = Rig::start(|webrtc| webrtc.connect_timeout_ms = 1500);
    let mut ann = rig.join("never", "ann", 700.0).await;
    // The answer reached the client, but it never runs ICE.
    ann.driven = false;
    let call = ann.leg.call.clone();
    let (_, event) = rig
        .wait_for(
            &mut [&mut ann],
            Duration::from_secs(6),
            "Ann's leg to fail",
            |e| matches!(e, MediaEvent::LegFailed { .. }),
        )
        .await;
    assert!(
        matches!(&event, MediaEvent::LegFailed { call: c, .. } if *c == call),
        "{event:?}"
    );
    println!("never connected: {event:?}");
    assert!(!rig.events_since(0).contains(&MediaEvent::LegReady {
        call: ann.leg.call.clone()
    }));
    // Its call id is free again: the same person offers anew and connects.
    let mut again = rig.join("never", "ann", 700.0).await;
    assert_eq!(again.leg.call, ann.leg.call);
    rig.connect(&mut [&mut again]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bot_invited_into_two_peoples_call_is_heard_by_both_and_gets_their_keys() {
    let mut rig = Rig::start(|_| {});
    rig.tone_prompt("bot-tone", BOT_HZ, 3.0);
    let mut ann = rig.join("invite", "ann", 600.0).await;
    let mut bob = rig.join("invite", "bob", 1100.0).await;
    rig.connect(&mut [&mut ann, &mut bob]).await;
    // The bot joins the two: the conversation moves onto the conference mix.
    let bot = rig.bot(&mut [&mut ann, &mut bob], "invite", "bot").await;
    rig.plane
        .submit(MediaCommand::SubscribeTones { call: bot.clone() })
        .unwrap();
    rig.play(&bot, "bot-tone");
    rig.run(&mut [&mut ann, &mut bob], Duration::from_millis(500))
        .await;
    let before_key = rig.seen.len();
    bob.client
        .send_digit(std::time::Instant::now(), 4, Duration::from_millis(120))
        .unwrap();
    check_window(
        &mut rig,
        &mut [&mut ann, &mut bob],
        Duration::from_millis(1500),
        |p| {
            let other = if p.tone_hz == 600.0 { 1100.0 } else { 600.0 };
            (vec![other, BOT_HZ], vec![p.tone_hz])
        },
    )
    .await;
    let keys: Vec<MediaEvent> = rig
        .events_since(before_key)
        .into_iter()
        .filter(|e| matches!(e, MediaEvent::ToneDetected { .. }))
        .collect();
    assert_eq!(
        keys,
        vec![MediaEvent::ToneDetected {
            call: bot.clone(),
            tone: switchboard_media::dtmf::Digit::D4,
            participant: Some(bob.leg.participant.clone()),
        }],
        "one key, named after Bob"
    );

    // The bot leaves: the two are back to talking directly, and still hear each other.
    rig.plane
        .submit(MediaCommand::CloseLeg { call: bot.clone() })
        .unwrap();
    rig.run(&mut [&mut ann, &mut bob], Duration::from_millis(300))
        .await;
    check_window(
        &mut rig,
        &mut [&mut ann, &mut bob],
        Duration::from_millis(1500),
        |p| {
            let other = if p.tone_hz == 600.0 { 1100.0 } else { 600.0 };
            (vec![other], vec![p.tone_hz, BOT_HZ])
        },
    )
    .await;
    assert_eq!(ann.client.undecodable_packets(), 0);
    assert_eq!(bob.client.undecodable_packets(), 0);
}
