//! A group call of three bots through the HTTP API, on the conference mix: two bots play their
//! own pure tones (prompts from the prompts folder) and the third bot's recording holds both;
//! after a server mute it no longer holds the muted bot's; rosters say who speaks (`isSpeaking`)
//! and who left.

mod calls_support;
mod media_support;
mod support;

use calls_support::*;
use serde_json::{Value, json};
use support::audio::{mean_power, power_at, tone};
use support::*;

/// Each bot's tone; A1 records and stays silent (a bot's operations run one at a time).
const TONES: [(&str, f64); 3] = [("a1", 500.0), ("a2", 800.0), ("b1", 1300.0)];

async fn start_op(bots: &Bots, bot: &Bot, call: &str, action: &str, body: Value) -> String {
    let response = bots
        .post(bot, &format!("/communications/calls/{call}/{action}"), body)
        .await;
    let status = response.status();
    let op: Value = response.json().await.unwrap();
    assert_eq!(status, 200, "{action}: {op}");
    op["id"].as_str().unwrap().to_owned()
}

async fn finished(hook: &Webhook, call: &str, op: &str) -> Value {
    wait_for(hook, |n| {
        n["resourceUrl"] == format!("/communications/calls/{call}/operations/{op}")
            && n["changeType"] == "deleted"
    })
    .await["resourceData"]
        .clone()
}

fn play(name: &str) -> Value {
    json!({"prompts": [{"@odata.type": "#microsoft.graph.mediaPrompt",
                        "mediaInfo": {"resourceId": format!("tone-{name}")}}]})
}

fn record(seconds: u32) -> Value {
    json!({"maxRecordDurationInSeconds": seconds, "initialSilenceTimeoutInSeconds": 10,
           "maxSilenceTimeoutInSeconds": 10, "playBeep": false})
}

/// The recording of a finished recordResponse, downloaded with its token: 16 kHz PCM.
async fn download(bots: &Bots, recorded: &Value) -> Vec<i16> {
    assert_eq!(recorded["status"], "completed", "{recorded}");
    let response = bots
        .server
        .http
        .get(recorded["recordingLocation"].as_str().unwrap())
        .bearer_auth(recorded["recordingAccessToken"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let (pcm, rate) = media_support::read_wav(&response.bytes().await.unwrap());
    assert_eq!(rate, 16_000);
    pcm
}

/// Share of the power of `pcm` (16 kHz) at `hz`, over its last two thirds (the first third
/// covers the prompts starting).
fn share(pcm: &[i16], hz: f64) -> f64 {
    let steady = &pcm[pcm.len() / 3..];
    let total = mean_power(steady);
    assert!(total > 0.0, "the recording is digital silence");
    power_at(steady, 16_000, hz) / total
}

/// A roster notification of `call` at `hook` in which `participant` matches `is`.
async fn roster_where(hook: &Webhook, call: &str, is: impl Fn(&[Value]) -> bool) -> Value {
    wait_for(hook, |n| {
        n["resourceUrl"] == format!("/communications/calls/{call}/participants")
            && n["resourceData"].as_array().is_some_and(|r| is(r))
    })
    .await
}

#[tokio::test]
async fn three_bots_hear_each_others_tones_until_muted_and_rosters_follow() {
    let dir = tempfile::tempdir().unwrap();
    for (name, hz) in TONES {
        let path = dir.path().join(format!("tone-{name}.wav"));
        switchboard::webrtc::client::write_wav(&path, &tone(hz, 48_000, 4.0, 0.15)).unwrap();
    }
    let config = format!("[media.prompts]\ndir = \"{}\"\n", dir.path().display());
    let bots = Bots::start(&config, &[]).await;
    let body = json!({"callbackUri": bots.a1.hook.url, "subject": "Tones",
                      "mediaConfig": {"@odata.type": "#microsoft.graph.serviceHostedMediaConfig"},
                      "targets": [{"identity": {"application": {"id": APP_A2}}},
                                  {"identity": {"application": {"id": APP_B1}}}]});
    let response = bots.post(&bots.a1, "/communications/calls", body).await;
    assert_eq!(response.status(), 201);
    let a1 = response.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let a2 = bots.incoming(&bots.a2).await;
    let b1 = bots.incoming(&bots.b1).await;
    bots.answer(&bots.a2, &a2).await;
    bots.answer(&bots.b1, &b1).await;
    let participant_of = |n: Value| {
        n["resourceData"]["myParticipantId"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    wait_for(&bots.a1.hook, |n| is_state(n, &a1, "established")).await;
    let a2_id = participant_of(wait_for(&bots.a2.hook, |n| is_state(n, &a2, "established")).await);
    let b1_id = participant_of(wait_for(&bots.b1.hook, |n| is_state(n, &b1, "established")).await);

    // A2 and B1 play their tones (each twice, 8 s) while A1 records.
    let mut plays = Vec::new();
    for (bot, call, name) in [(&bots.a2, &a2, "a2"), (&bots.b1, &b1, "b1")] {
        for _ in 0..2 {
            plays.push((
                bot,
                call,
                start_op(&bots, bot, call, "playPrompt", play(name)).await,
            ));
        }
    }
    let rec = start_op(&bots, &bots.a1, &a1, "recordResponse", record(3)).await;
    let heard = download(&bots, &finished(&bots.a1.hook, &a1, &rec).await).await;
    let report = |pcm: &[i16]| TONES.map(|(n, hz)| format!("{n} {hz} Hz: {:.3}", share(pcm, hz)));
    println!("A1 heard {:?}", report(&heard));
    assert!(share(&heard, 800.0) > 0.2, "A1 hears A2");
    assert!(share(&heard, 1300.0) > 0.2, "A1 hears B1");
    assert!(share(&heard, 500.0) < 0.01, "A1 itself was silent");

    // The conference heard them speak: the roster says so.
    roster_where(&bots.a1.hook, &a1, |r| {
        r.iter()
            .any(|p| p["id"] == a2_id.as_str() && p["isSpeaking"] == true)
    })
    .await;

    // A1 mutes B1 on the server: A1 still hears A2, and no longer B1.
    let mute = bots
        .post(
            &bots.a1,
            &format!("/communications/calls/{a1}/participants/{b1_id}/mute"),
            json!({}),
        )
        .await;
    assert_eq!(mute.status(), 200);
    let rec = start_op(&bots, &bots.a1, &a1, "recordResponse", record(2)).await;
    let muted = download(&bots, &finished(&bots.a1.hook, &a1, &rec).await).await;
    println!("A1 heard, B1 muted {:?}", report(&muted));
    assert!(share(&muted, 800.0) > 0.5, "A2 still heard");
    assert!(share(&muted, 1300.0) < 0.01, "B1 is muted");
    for (bot, call, op) in plays {
        assert_eq!(finished(&bot.hook, call, &op).await["status"], "completed");
    }

    // B1 hangs up: A1's roster no longer lists it.
    assert_eq!(
        bots.delete(&bots.b1, &format!("/communications/calls/{b1}"))
            .await
            .status(),
        204
    );
    roster_where(&bots.a1.hook, &a1, |r| {
        r.iter().all(|p| p["id"] != b1_id.as_str()) && r.len() == 2
    })
    .await;
}
