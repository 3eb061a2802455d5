//! Media actions and operations, group calls with invite and server mute, and online meetings
//! (create, read, `$filter`, and two bots joining one meeting by its join id).

mod calls_support;
mod support;

use calls_support::*;
use serde_json::{Value, json};
use support::*;

#[tokio::test]
async fn media_actions_return_operations_with_location_and_finish_by_notification() {
    let bots = Bots::start("", &[]).await;
    let (a, _) = bots.established().await;
    let body = json!({"clientContext": "ctx-1", "prompts": [{"@odata.type": "#microsoft.graph.mediaPrompt",
                      "mediaInfo": {"uri": "https://cdn.example.com/menu.wav", "resourceId": "menu"}}]});
    let response = bots
        .post(
            &bots.a1,
            &format!("/communications/calls/{a}/playPrompt"),
            body,
        )
        .await;
    assert_eq!(response.status(), 200);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let op: Value = response.json().await.unwrap();
    assert_eq!(op["@odata.type"], "#microsoft.graph.playPromptOperation");
    assert_eq!(op["status"], "running");
    assert_eq!(op["clientContext"], "ctx-1");
    let op_id = op["id"].as_str().unwrap();
    assert_eq!(
        location,
        bots.server.url(&format!(
            "/v1.0/communications/calls/{a}/operations/{op_id}"
        ))
    );
    // The prompt's host is not reachable from the test machine: the operation fails and says so.
    let finished = wait_for(&bots.a1.hook, |n| {
        n["resourceUrl"] == format!("/communications/calls/{a}/operations/{op_id}")
            && n["changeType"] == "deleted"
    })
    .await;
    assert_eq!(finished["resourceData"]["status"], "failed");
    assert_eq!(finished["resourceData"]["resultInfo"]["code"], 400);
    assert!(
        finished["resourceData"]["resultInfo"]["message"]
            .as_str()
            .unwrap()
            .contains("https://cdn.example.com/menu.wav"),
        "{finished}"
    );
    let read: Value = bots
        .server
        .http
        .get(&location)
        .bearer_auth(&bots.a1.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(read["status"], "failed");

    let subscribe = bots
        .post(
            &bots.a1,
            &format!("/communications/calls/{a}/subscribeToTone"),
            json!({"clientContext": "t"}),
        )
        .await;
    assert_eq!(subscribe.status(), 200);
    let subscribed: Value = subscribe.json().await.unwrap();
    assert_eq!(
        subscribed["@odata.type"],
        "#microsoft.graph.subscribeToToneOperation"
    );
    assert_eq!(subscribed["status"], "completed");
    let record = bots
        .post(&bots.a1, &format!("/communications/calls/{a}/recordResponse"),
              json!({"bargeInAllowed": false, "playBeep": false, "maxRecordDurationInSeconds": 10, "stopTones": ["#"]}))
        .await;
    let recording: Value = record.json().await.unwrap();
    assert_eq!(recording["@odata.type"], "#microsoft.graph.recordOperation");
    assert_eq!(recording["status"], "running");
    let dtmf = bots
        .post(
            &bots.a1,
            &format!("/communications/calls/{a}/sendDtmfTones"),
            json!({"tones": ["tone1", "tone2", "tone3", "pound"]}),
        )
        .await;
    assert_eq!(
        dtmf.json::<Value>().await.unwrap()["@odata.type"],
        "#microsoft.graph.sendDtmfTonesOperation"
    );
    let cancel = bots
        .post(
            &bots.a1,
            &format!("/communications/calls/{a}/cancelMediaProcessing"),
            json!({}),
        )
        .await;
    assert_eq!(cancel.json::<Value>().await.unwrap()["status"], "completed");
    let mute = bots
        .post(
            &bots.a1,
            &format!("/communications/calls/{a}/mute"),
            json!({}),
        )
        .await;
    assert_eq!(
        mute.json::<Value>().await.unwrap()["@odata.type"],
        "#microsoft.graph.muteParticipantOperation"
    );
    let roster = wait_for(&bots.a1.hook, |n| {
        n["resourceUrl"] == format!("/communications/calls/{a}/participants")
    })
    .await;
    assert!(
        roster["resourceData"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["isMuted"] == true)
    );
    // A bodiless POST is read as `{}`.
    let unmute = bots
        .server
        .http
        .post(
            bots.server
                .url(&format!("/v1.0/communications/calls/{a}/unmute")),
        )
        .bearer_auth(&bots.a1.token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        unmute.json::<Value>().await.unwrap()["@odata.type"],
        "#microsoft.graph.unmuteParticipantOperation"
    );
}

#[tokio::test]
async fn group_call_with_invite_mute_and_removal() {
    let bots = Bots::start("", &[]).await;
    let body = json!({"callbackUri": bots.a1.hook.url, "subject": "Standup",
                      "mediaConfig": {"@odata.type": "#microsoft.graph.serviceHostedMediaConfig"},
                      "targets": [{"identity": {"application": {"id": APP_A2}}}]});
    // One target is P2P; invite escalates it to a group call with a third party.
    let response = bots.post(&bots.a1, "/communications/calls", body).await;
    let a = response.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let b = bots.incoming(&bots.a2).await;
    bots.answer(&bots.a2, &b).await;
    wait_for(&bots.a1.hook, |n| is_state(n, &a, "established")).await;
    let invite = json!({"participants": [{"identity": {"application": {"id": APP_B1}}}], "clientContext": "inv"});
    let response = bots
        .post(
            &bots.a1,
            &format!("/communications/calls/{a}/participants/invite"),
            invite,
        )
        .await;
    assert_eq!(response.status(), 200);
    assert!(response.headers().contains_key("location"));
    let op: Value = response.json().await.unwrap();
    assert_eq!(
        op["@odata.type"],
        "#microsoft.graph.inviteParticipantsOperation"
    );
    assert_eq!(op["status"], "running");
    assert_eq!(
        op["participants"][0]["identity"]["application"]["id"],
        APP_B1
    );
    let c = bots.incoming(&bots.b1).await;
    bots.answer(&bots.b1, &c).await;
    let op_id = op["id"].as_str().unwrap();
    let done = wait_for(&bots.a1.hook, |n| {
        n["resourceUrl"] == format!("/communications/calls/{a}/operations/{op_id}")
    })
    .await;
    assert_eq!(done["resourceData"]["status"], "completed");
    let roster: Value = bots
        .get(&bots.a2, &format!("/communications/calls/{b}/participants"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(roster["value"].as_array().unwrap().len(), 3);

    let b1_participant = wait_for(&bots.b1.hook, |n| is_state(n, &c, "established")).await["resourceData"]["myParticipantId"]
        .as_str()
        .unwrap()
        .to_owned();
    let mute = bots
        .post(
            &bots.a1,
            &format!("/communications/calls/{a}/participants/{b1_participant}/mute"),
            json!({}),
        )
        .await;
    assert_eq!(mute.status(), 200);
    let muted = wait_for(&bots.b1.hook, |n| {
        n["resourceUrl"] == format!("/communications/calls/{c}/participants")
            && n["resourceData"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["id"] == b1_participant.as_str() && p["isMuted"] == true)
    })
    .await;
    assert_eq!(muted["changeType"], "updated");
    let one: Value = bots
        .get(
            &bots.a1,
            &format!("/communications/calls/{a}/participants/{b1_participant}"),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(one["mediaStreams"][0]["serverMuted"], true);

    let removed = bots
        .delete(
            &bots.a1,
            &format!("/communications/calls/{a}/participants/{b1_participant}"),
        )
        .await;
    assert_eq!(removed.status(), 204);
    let ended = wait_for(&bots.b1.hook, |n| is_state(n, &c, "terminated")).await;
    assert_eq!(ended["resourceData"]["resultInfo"]["subcode"], 5000);
    let roster: Value = bots
        .get(&bots.a1, &format!("/communications/calls/{a}/participants"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(roster["value"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn online_meetings_are_created_found_and_joined() {
    let bots = Bots::start("", &[]).await;
    let body = json!({"@odata.type": "#microsoft.graph.onlineMeeting", "subject": "Triage",
                      "startDateTime": "2030-07-12T14:30:00-07:00", "endDateTime": "2030-07-12T15:00:00-07:00",
                      "joinMeetingIdSettings": {"isPasscodeRequired": true}});
    let response = bots
        .post(&bots.a1, &format!("/users/{USER_A}/onlineMeetings"), body)
        .await;
    assert_eq!(response.status(), 201);
    let meeting: Value = response.json().await.unwrap();
    let id = meeting["id"].as_str().unwrap();
    assert_eq!(
        meeting["joinWebUrl"],
        bots.server.url(&format!("/meet/{id}"))
    );
    assert_eq!(meeting["startDateTime"], "2030-07-12T21:30:00Z");
    assert_eq!(
        meeting["participants"]["organizer"]["identity"]["user"]["id"],
        USER_A
    );
    let join_id = meeting["joinMeetingIdSettings"]["joinMeetingId"]
        .as_str()
        .unwrap()
        .to_owned();
    let passcode = meeting["joinMeetingIdSettings"]["passcode"]
        .as_str()
        .unwrap()
        .to_owned();

    let read: Value = bots
        .get(&bots.a1, &format!("/users/{USER_A}/onlineMeetings/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(read["subject"], "Triage");
    let vtc = meeting["videoTeleconferenceId"].as_str().unwrap();
    let found: Value = bots
        .get(
            &bots.a1,
            &format!(
                "/communications/onlineMeetings?$filter=VideoTeleconferenceId%20eq%20%27{vtc}%27"
            ),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(found["value"][0]["id"], id);
    let url = meeting["joinWebUrl"].as_str().unwrap();
    let filter = format!("JoinWebUrl eq '{url}'");
    let encoded =
        percent_encoding::utf8_percent_encode(&filter, percent_encoding::NON_ALPHANUMERIC);
    let by_url: Value = bots
        .get(
            &bots.a1,
            &format!("/users/{USER_A}/onlineMeetings?$filter={encoded}"),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(by_url["value"][0]["id"], id);
    let other_tenant: Value = bots
        .get(
            &bots.b1,
            &format!(
                "/communications/onlineMeetings?$filter=VideoTeleconferenceId%20eq%20%27{vtc}%27"
            ),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(other_tenant["value"], json!([]));
    expect_graph_error(
        bots.get(
            &bots.a1,
            "/communications/onlineMeetings?$filter=subject%20eq%20%27x%27",
        )
        .await,
        400,
        "invalidRequest",
    )
    .await;
    expect_graph_error(
        bots.get(&bots.a1, &format!("/users/{USER_A}/onlineMeetings/nope"))
            .await,
        404,
        "itemNotFound",
    )
    .await;
    expect_graph_error(
        bots.post(&bots.a1, "/me/onlineMeetings", json!({})).await,
        400,
        "invalidRequest",
    )
    .await;

    // Two bots join by join id; both see the roster.
    let join = |passcode: &str, hook: &str| {
        json!({"callbackUri": hook,
        "mediaConfig": {"@odata.type": "#microsoft.graph.serviceHostedMediaConfig"},
        "meetingInfo": {"@odata.type": "#microsoft.graph.joinMeetingIdMeetingInfo", "joinMeetingId": join_id, "passcode": passcode},
        "tenantId": TENANT_A})
    };
    let wrong = bots
        .post(
            &bots.a1,
            "/communications/calls",
            join("nope", &bots.a1.hook.url),
        )
        .await;
    expect_graph_error(wrong, 400, "invalidRequest").await;
    let first = bots
        .post(
            &bots.a1,
            "/communications/calls",
            join(&passcode, &bots.a1.hook.url),
        )
        .await;
    assert_eq!(first.status(), 201);
    let a = first.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let second = bots
        .post(
            &bots.a2,
            "/communications/calls",
            join(&passcode, &bots.a2.hook.url),
        )
        .await;
    let b = second.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    wait_for(&bots.a1.hook, |n| is_state(n, &a, "established")).await;
    wait_for(&bots.a2.hook, |n| is_state(n, &b, "established")).await;
    let both = wait_for(&bots.a1.hook, |n| {
        n["resourceUrl"] == format!("/communications/calls/{a}/participants")
            && n["resourceData"].as_array().unwrap().len() == 2
    })
    .await;
    assert_eq!(
        both["resourceData"][0]["@odata.type"],
        "#microsoft.graph.participant"
    );
    let got: Value = bots
        .get(&bots.a2, &format!("/communications/calls/{b}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        got["meetingInfo"]["@odata.type"],
        "#microsoft.graph.joinMeetingIdMeetingInfo"
    );
}
