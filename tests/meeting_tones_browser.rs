//! Three people in headless Chromium and a bot in one online meeting, each sending its own pure
//! tone: every page's received audio holds every other participant's tone and not its own
//! (measured by spectrum with a Web Audio analyser in the page), and so does the bot's
//! recording; after a server mute nobody receives the muted person's tone; after a person
//! leaves, the participants list and the bot's roster notifications no longer name them.
//!
//! Each person has a browser of their own: Chromium's fake microphone plays one file for every
//! page of a browser.

mod calls_support;
mod meeting_support;
mod softphone_support;
mod support;

use std::time::Duration;

use calls_support::*;
use meeting_support::*;
use serde_json::{Value, json};
use softphone_support::*;
use support::audio::tone;
use support::browser::Page;
use support::*;

/// A third person of tenant A.
const PERSON_D: &str = "ud000000-0000-4000-8000-0000000000ud";

/// Each person's user id and microphone tone; no tone is near another's harmonics.
const PEOPLE: [(&str, f64); 3] = [(USER_A, 600.0), (AGENT, 950.0), (PERSON_D, 1400.0)];
/// The bot's tone (its prompt).
const BOT_HZ: f64 = 1850.0;

/// The frequencies every measurement reports, people first, then the bot.
fn all_tones() -> Vec<f64> {
    PEOPLE.iter().map(|(_, hz)| *hz).chain([BOT_HZ]).collect()
}

/// One person: their own browser and page.
struct Person {
    user: &'static str,
    hz: f64,
    phones: Phones,
    page: Page,
}

/// The share of each of [`all_tones`] in what each page received while `during` ran.
fn measure_pages(people: &mut [Person], during: impl FnOnce()) -> Vec<Vec<f64>> {
    for p in people.iter_mut() {
        start_tone_meter(&mut p.phones, &p.page);
    }
    during();
    people
        .iter_mut()
        .map(|p| read_tone_meter(&mut p.phones, &p.page, &all_tones()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_people_and_a_bot_hear_every_other_tone_until_muted_and_leaving_shows() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, hz: f64, seconds: f64, amplitude: f64| {
        let path = dir.path().join(name);
        let pcm = tone(hz, 48_000, seconds, amplitude);
        switchboard::webrtc::client::write_wav(&path, &pcm).unwrap();
        path
    };
    // The prompt goes into the mix as it is, while the people's tones pass through Chromium's
    // audio processing and Opus, which leave them about 20 dB lower: a quieter prompt keeps
    // the four tones within a few dB of one another.
    write("tone-bot.wav", BOT_HZ, 8.0, 0.035);
    let config = softphone_config().replace(
        "[media.prompts]\n",
        &format!("[media.prompts]\ndir = \"{}\"\n", dir.path().display()),
    ) + &format!(
        "\n[[users]]\nid = \"{PERSON_D}\"\ndisplay_name = \"Person D\"\ntenant = \"{TENANT_A}\"\n"
    );
    let bots = Bots::start(&config, &[]).await;
    let meeting: Value = bots
        .post(
            &bots.a1,
            &format!("/users/{USER_A}/onlineMeetings"),
            json!({"subject": "Tones"}),
        )
        .await
        .json()
        .await
        .unwrap();
    let path = meeting["joinWebUrl"]
        .as_str()
        .unwrap()
        .strip_prefix(&bots.server.url(""))
        .unwrap()
        .to_owned();

    // The bot joins by the meeting's join id.
    let join = json!({"callbackUri": bots.a1.hook.url,
        "mediaConfig": {"@odata.type": "#microsoft.graph.serviceHostedMediaConfig"},
        "meetingInfo": {"@odata.type": "#microsoft.graph.joinMeetingIdMeetingInfo",
                        "joinMeetingId": meeting["joinMeetingIdSettings"]["joinMeetingId"]},
        "tenantId": TENANT_A});
    let joined = bots.post(&bots.a1, "/communications/calls", join).await;
    assert_eq!(joined.status(), 201);
    let call = joined.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    wait_for(&bots.a1.hook, |n| is_state(n, &call, "established")).await;

    // Each person joins from the joinWebUrl in their own browser, microphone playing their tone.
    let mut people: Vec<Person> = PEOPLE
        .iter()
        .map(|&(user, hz)| {
            let microphone = write(&format!("{user}.wav"), hz, 4.0, 0.2);
            let mut phones = Phones::launch(&bots.server, Some(microphone));
            let page = phones.signed_in(&path, user);
            phones.eval(&page, "softphone.join(softphone.meeting)");
            Person {
                user,
                hz,
                phones,
                page,
            }
        })
        .collect();
    for p in people.iter_mut() {
        p.phones.wait_state(&p.page, "connected");
        install_tone_meter(&mut p.phones, &p.page);
    }
    eventually("four in the bot's roster", || {
        roster(&bots.a1, &call).len() == 4
    })
    .await;

    // The bot plays its tone: every page hears the other two people and the bot, not itself.
    let played = start_op(&bots, &bots.a1, &call, "playPrompt", play("tone-bot")).await;
    std::thread::sleep(Duration::from_millis(1500));
    let heard = measure_pages(&mut people, || {
        std::thread::sleep(Duration::from_millis(2500))
    });
    for (p, shares) in people.iter().zip(&heard) {
        println!(
            "{} ({} Hz) hears {}",
            p.user,
            p.hz,
            describe(&all_tones(), shares)
        );
    }
    for (p, shares) in people.iter().zip(&heard) {
        for (hz, share) in all_tones().iter().zip(shares) {
            if *hz == p.hz {
                assert!(*share < ABSENT, "{} hears its own {hz} Hz: {share}", p.user);
            } else {
                assert!(*share > HEARD, "{} misses {hz} Hz: {share}", p.user);
            }
        }
    }
    // Once its prompt is over, the bot records: it hears the three people.
    assert_eq!(
        finished(&bots.a1, &call, &played).await["status"],
        "completed"
    );
    let bot = bot_hears(&bots, &bots.a1, &call, 3, &all_tones()).await;
    println!("the bot hears {}", describe(&all_tones(), &bot));
    for (hz, share) in all_tones().iter().zip(&bot) {
        if *hz == BOT_HZ {
            assert!(*share < ABSENT, "the bot hears its own tone: {share}");
        } else {
            assert!(*share > HEARD, "the bot misses {hz} Hz: {share}");
        }
    }

    // The bot mutes the third person on the server: nobody receives that tone any more.
    let (muted_user, muted_hz) = PEOPLE[2];
    let muted = participant_of(&bots.a1, &call, muted_user);
    let response = bots
        .post(
            &bots.a1,
            &format!("/communications/calls/{call}/participants/{muted}/mute"),
            json!({}),
        )
        .await;
    assert_eq!(response.status(), 200);
    let third = &mut people[2];
    third.phones.wait(&third.page, "softphone.serverMuted");
    eventually("the bot's roster shows the mute", || {
        roster(&bots.a1, &call)
            .iter()
            .any(|p| p["id"] == muted.as_str() && p["isMuted"] == true)
    })
    .await;
    std::thread::sleep(Duration::from_millis(500));
    let heard = measure_pages(&mut people[..2], || {
        std::thread::sleep(Duration::from_millis(2000))
    });
    let index = all_tones().iter().position(|&hz| hz == muted_hz).unwrap();
    for (p, shares) in people.iter().zip(&heard) {
        println!(
            "{} hears, {muted_user} muted: {}",
            p.user,
            describe(&all_tones(), shares)
        );
        assert!(
            shares[index] < ABSENT,
            "{} still hears {muted_hz} Hz",
            p.user
        );
    }
    let bot = bot_hears(&bots, &bots.a1, &call, 2, &all_tones()).await;
    println!(
        "the bot hears, {muted_user} muted: {}",
        describe(&all_tones(), &bot)
    );
    assert!(bot[index] < ABSENT, "the bot still hears {muted_hz} Hz");
    assert!(
        bot[0] > HEARD && bot[1] > HEARD,
        "the others are still heard"
    );

    // The muted person leaves: the participants list and the bot's roster say so.
    let leaver = people.pop().unwrap();
    let mut phones = leaver.phones;
    phones.eval(&leaver.page, "softphone.hangUp()");
    phones.wait_state(&leaver.page, "ended");
    eventually("the bot's roster without the leaver", || {
        let r = roster(&bots.a1, &call);
        r.len() == 3 && r.iter().all(|p| user_of(p) != Some(muted_user))
    })
    .await;
    let list: Value = bots
        .get(
            &bots.a1,
            &format!("/communications/calls/{call}/participants"),
        )
        .await
        .json()
        .await
        .unwrap();
    let listed: Vec<&str> = list["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert_eq!(listed.len(), 3, "{list}");
    assert!(!listed.contains(&muted.as_str()), "{list}");
}
