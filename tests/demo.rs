//! The demo that `switchboard serve` runs with no arguments: the start-up text says where to
//! click, the demo credentials and the configuration it read; the built-in Front Desk answers a
//! call with its synthesised speech, takes key 2, records a message, analyses it with the
//! built-in classifier, thanks the caller and hangs up.

mod bot_support;
mod calls_support;
mod media_support;
mod support;

use std::time::Duration;

use bot_support::*;
use calls_support::*;
use serde_json::{Value, json};
use support::*;

const DEMO_TENANT: &str = "00000000-0000-4000-8000-000000000001";
const DEMO_APP: &str = "00000000-0000-4000-8000-00000000a001";
const FRONT_DESK: &str = "00000000-0000-4000-8000-0000000f0de5";

/// Records what the Front Desk says until one second of quiet: (seconds, level in dBFS).
async fn listen(bots: &Bots, call: &str, initial: u32) -> (f64, f64) {
    let op = start_recording(bots, &bots.a1, call, initial, 1).await;
    let (pcm, rate) = recorded(bots, &bots.a1, call, &op).await;
    (
        pcm.len() as f64 / f64::from(rate),
        media_support::rms_dbfs(&pcm),
    )
}

#[tokio::test]
async fn serve_with_no_arguments_runs_the_front_desk_demo() {
    let server = Server::start(ServerOptions::default());
    assert!(
        server.wait_for_output("Try it: open", Duration::from_secs(10)),
        "{}",
        server.output()
    );
    let output = server.output();
    for needle in [
        "Configuration: none given",
        "Front Desk",
        FRONT_DESK,
        "app secret",
        &format!("Try it: open {}/", server.base_url),
    ] {
        assert!(
            output.contains(needle),
            "start-up text lacks {needle:?}:\n{output}"
        );
    }
    let secret = std::fs::read_to_string(data_file(&server, "demo-app-secret")).unwrap();
    let hook = Webhook::start().await;
    let caller = Bot {
        id: DEMO_APP,
        token: server.token(DEMO_TENANT, DEMO_APP, secret.trim()).await,
        hook,
    };
    let unused = |id| async move {
        Bot {
            id,
            token: String::new(),
            hook: Webhook::start().await,
        }
    };
    let bots = Bots {
        a2: unused(APP_A2).await,
        b1: unused(APP_B1).await,
        a1: caller,
        server,
    };

    let call = bots.call_app(&bots.a1, FRONT_DESK).await;
    wait_for(&bots.a1.hook, |n| is_state(n, &call, "established")).await;
    // Welcome and menu: several seconds of speech.
    let (seconds, level) = listen(&bots, &call, 5).await;
    assert!(
        seconds > 6.0 && level > -35.0,
        "{seconds} s at {level} dBFS"
    );

    // Key 2: leave a message.
    let op = start_op(
        &bots,
        &bots.a1,
        &call,
        "sendDtmfTones",
        json!({"tones": ["tone2"]}),
    )
    .await;
    finished(&bots.a1.hook, &call, &op, Duration::from_secs(10)).await;
    let (seconds, level) = listen(&bots, &call, 5).await;
    assert!(
        seconds > 2.0 && level > -35.0,
        "{seconds} s at {level} dBFS"
    );
    // The caller speaks (one of the demo's own recordings will do).
    let op = start_op(
        &bots,
        &bots.a1,
        &call,
        "playPrompt",
        json!({"prompts": [{"@odata.type": "#microsoft.graph.mediaPrompt",
                            "mediaInfo": {"resourceId": "demo-reminder"}}]}),
    )
    .await;
    let played: Value = finished(&bots.a1.hook, &call, &op, Duration::from_secs(20)).await;
    assert_eq!(played["status"], "completed", "{played}");
    // The classifier's verdict picks a prompt, then goodbye, then the Front Desk hangs up.
    let (seconds, level) = listen(&bots, &call, 10).await;
    assert!(
        seconds > 1.5 && level > -35.0,
        "{seconds} s at {level} dBFS"
    );
    let ended = wait_long(&bots.a1.hook, WAIT, "hang-up", |n| {
        is_state(n, &call, "terminated")
    })
    .await;
    assert_eq!(ended["resourceData"]["resultInfo"]["code"], 200, "{ended}");
    let output = bots.server.output();
    assert!(
        output.contains("analysis result") && output.contains("\"intent\":\"message\""),
        "{output}"
    );
}
