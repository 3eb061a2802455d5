//! Dialling: the handshake's headers and JWT, `start`, redials after a loss, and the three ways a
//! leg ends (refused, unreachable for the window, an address the policy refuses).

use std::time::Duration;

use jsonwebtoken::{Algorithm, Validation};
use serde_json::json;

use super::*;
use crate::auth::tokens::{MEDIA_SOCKET_TOKEN_SECS, MediaSocketClaims};
use crate::media_plane::app_stream::FLAG_DISCONTINUITY;

/// Checks the dial's JWT against the server's key; returns its claims.
fn verified_claims(rig: &Rig, bot: &Bot) -> MediaSocketClaims {
    let authorization = bot.headers["authorization"].to_str().unwrap();
    let token = authorization
        .strip_prefix("Bearer ")
        .expect("a bearer token");
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&[APP_ID]);
    validation.set_issuer(&["http://sb.test"]);
    let claims = jsonwebtoken::decode::<MediaSocketClaims>(
        token,
        rig.tokens.keys().decoding_key(),
        &validation,
    )
    .expect("signed by the server's key, for the app")
    .claims;
    assert_eq!(claims.call_id, CALL_ID);
    assert_eq!(claims.tid, TENANT_ID);
    assert!(claims.exp - claims.iat <= MEDIA_SOCKET_TOKEN_SECS);
    claims
}

#[tokio::test]
async fn a_dial_carries_the_subprotocol_a_fresh_jwt_and_the_bots_token_then_start() {
    let rig = Rig::start(|_| {}).await;
    let mut bot = rig.accept().await;
    assert_eq!(bot.headers["sec-websocket-protocol"], SUBPROTOCOL);
    assert_eq!(bot.headers["x-switchboard-auth-token"], "bot-secret");
    let first = verified_claims(&rig, &bot);
    let start = bot.json().await;
    let stream_id = start["streamId"].as_str().unwrap().to_owned();
    assert_eq!(
        start,
        json!({"type": "start", "callId": CALL_ID, "streamId": stream_id,
            "mediaFormat": {"encoding": "pcm_s16le", "sampleRate": 16000, "channels": 1, "frameMs": 20},
            "directions": "sendrecv", "receiveMixedAudio": true, "receiveUnmixedMeetingAudio": true,
            "participants": [{"id": "bot", "sourceId": 1, "identity": null},
                             {"id": "alice", "sourceId": 2, "identity": null}],
            "resumed": false})
    );

    drop(bot);
    let mut bot = rig.accept().await;
    let second = verified_claims(&rig, &bot);
    assert_ne!(first.jti, second.jti, "every dial has its own token");
    let start = bot.json().await;
    assert_eq!(start["resumed"], true);
    assert_eq!(
        start["streamId"],
        stream_id.as_str(),
        "a reconnect is not a new stream"
    );
}

#[tokio::test]
async fn a_lost_socket_is_redialled_and_numbering_continues_with_a_discontinuity() {
    let rig = Rig::start(|_| {}).await;
    let mut bot = rig.accept().await;
    bot.json_of("start").await;
    rig.send(MIXED_SOURCE, 100, 1);
    rig.send(MIXED_SOURCE, 101, 2);
    assert_eq!(bot.frame().await.0.seq, 0);
    assert_eq!(bot.frame().await.0.seq, 1);
    drop(bot);
    // While nobody listens (the task has seen the loss, the redial waits 250 ms), the worker
    // goes on; this frame is stale by the reconnect.
    tokio::time::sleep(Duration::from_millis(100)).await;
    rig.send(MIXED_SOURCE, 102, 3);
    let mut bot = rig.accept().await;
    assert_eq!(bot.json_of("start").await["resumed"], true);
    rig.send(MIXED_SOURCE, 130, 4);
    let (header, pcm) = bot.frame().await;
    assert_eq!(
        (header.seq, header.timestamp, header.flags),
        (2, 130 * TIMESTAMP_STEP, FLAG_DISCONTINUITY),
        "seqs count frames sent; the skipped time is flagged"
    );
    assert_eq!(
        pcm[0], 4,
        "the frame queued while disconnected was not sent late"
    );
    assert!(rig.events.is_empty(), "the call goes on");
}

#[tokio::test]
async fn a_bot_refusing_the_dial_with_401_or_403_ends_the_leg_at_once() {
    for status in [401, 403] {
        let mut rig = Rig::start(|_| {}).await;
        rig.refuse(status).await;
        let MediaEvent::LegFailed { call, detail } = rig.event().await else {
            panic!("expected LegFailed");
        };
        assert_eq!(call.as_str(), CALL_ID);
        assert!(
            detail.contains(&format!("refused the dial with HTTP {status}")),
            "{detail}"
        );
        assert!(
            detail.contains("ws://127.0.0.1:") && !detail.contains("s3cret"),
            "the URL is named without its path or query: {detail}"
        );
        rig.no_dial_for(Duration::from_millis(600)).await;
    }
}

#[tokio::test]
async fn another_refusal_is_redialled_within_the_window() {
    let rig = Rig::start(|_| {}).await;
    rig.refuse(503).await;
    let mut bot = rig.accept().await;
    assert_eq!(
        bot.json_of("start").await["resumed"],
        false,
        "no connection was made before"
    );
}

#[tokio::test]
async fn no_listener_for_the_whole_window_ends_the_leg() {
    let mut rig = Rig::start(|setup| setup.settings.reconnect_window_secs = 1).await;
    // Nobody accepts: every dial is refused by the system until the window is spent.
    let port = rig.listener.local_addr().unwrap().port();
    let Rig { listener, .. } = &mut rig;
    drop(std::mem::replace(
        listener,
        TcpListener::bind("127.0.0.1:0").await.unwrap(),
    ));
    let started = tokio::time::Instant::now();
    let MediaEvent::LegFailed { detail, .. } = rig.event().await else {
        panic!("expected LegFailed");
    };
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(700) && took < Duration::from_secs(3),
        "{took:?}"
    );
    assert!(
        detail.contains(&format!("ws://127.0.0.1:{port}/…"))
            && detail.contains("could not be reached for 1 s")
            && detail.contains("cannot connect to 127.0.0.1"),
        "{detail}"
    );
}

#[tokio::test]
async fn an_address_the_policy_refuses_ends_the_leg_without_connecting() {
    let mut rig = Rig::start(|setup| {
        setup.settings.allow_private_addresses = false;
        setup.host = "localhost";
    })
    .await;
    let MediaEvent::LegFailed { detail, .. } = rig.event().await else {
        panic!("expected LegFailed");
    };
    assert!(
        detail.contains("localhost resolves to")
            && detail.contains("a loopback address; media sockets may only be at public addresses")
            && detail.contains("media.app_hosted.allow_private_addresses"),
        "{detail}"
    );
    rig.no_dial_for(Duration::from_millis(300)).await;
}

#[tokio::test]
async fn wss_dials_through_tls_and_checks_the_certificate() {
    use std::sync::Arc;
    use tokio_rustls::TlsAcceptor;
    use tokio_rustls::rustls::ServerConfig;
    use tokio_rustls::rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};

    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key).unwrap();
    let server_key = rcgen::KeyPair::generate().unwrap();
    let server_cert = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()])
        .unwrap()
        .signed_by(&server_key, &ca)
        .unwrap();
    let provider = Arc::new(tokio_rustls::rustls::crypto::aws_lc_rs::default_provider());
    let tls = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![server_cert.der().clone()],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(server_key.serialize_der())),
        )
        .unwrap();
    let acceptor = TlsAcceptor::from(Arc::new(tls));
    let ca_der = ca.der().clone();
    let rig = Rig::start(move |setup| {
        setup.scheme = "wss";
        setup.dialer = Dialer::with_extra_roots(vec![ca_der]);
    })
    .await;
    let (tcp, _) = within("a dial", rig.listener.accept()).await.unwrap();
    let tls = within("the TLS handshake", acceptor.accept(tcp))
        .await
        .unwrap();
    let (sender, receiver) = std::sync::mpsc::channel();
    // The callback's type is the WebSocket library's, large error response and all.
    #[allow(clippy::result_large_err)]
    let accept = move |request: &Request, mut response: Response| {
        let _ = sender.send(request.headers().clone());
        response.headers_mut().insert(
            "Sec-WebSocket-Protocol",
            HeaderValue::from_static(SUBPROTOCOL),
        );
        Ok(response)
    };
    let mut ws = tokio_tungstenite::accept_hdr_async(tls, accept)
        .await
        .unwrap();
    assert!(receiver.recv().unwrap().contains_key("authorization"));
    let Some(Ok(Message::Text(start))) = within("start", ws.next()).await else {
        panic!("expected start");
    };
    assert!(start.as_str().contains(r#""type":"start""#), "{start}");

    // Without the CA, the same server's certificate is refused, and redialled meanwhile.
    let untrusting = Rig::start(|setup| setup.scheme = "wss").await;
    let (tcp, _) = within("a dial", untrusting.listener.accept())
        .await
        .unwrap();
    assert!(acceptor.accept(tcp).await.is_err());
    within("a redial", untrusting.listener.accept())
        .await
        .unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_bot_that_goes_silent_is_pinged_then_dropped_and_redialled() {
    use crate::media_plane::media_socket::session::{PING_INTERVAL, SILENCE_LIMIT};

    let rig = Rig::start(|_| {}).await;
    let mut bot = rig.accept().await;
    bot.json_of("start").await;
    let started = tokio::time::Instant::now();
    // The bot reads one ping and then nothing (so nothing answers it, not even its stack).
    let ping = tokio::time::timeout(2 * PING_INTERVAL, bot.ws.next()).await;
    let Ok(Some(Ok(Message::Ping(_)))) = ping else {
        panic!("expected a ping, got {ping:?}");
    };
    assert!(started.elapsed() >= PING_INTERVAL);
    let (tcp, _) = tokio::time::timeout(2 * SILENCE_LIMIT, rig.listener.accept())
        .await
        .expect("a redial after the silence limit")
        .unwrap();
    assert!(
        started.elapsed() >= SILENCE_LIMIT,
        "{:?}",
        started.elapsed()
    );
    let mut again = Bot::handshake(tcp).await;
    assert_eq!(again.json_of("start").await["resumed"], true);
    drop(bot);
}
