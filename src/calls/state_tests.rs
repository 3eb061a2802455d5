//! Exhaustive tests of the call state machine: every (state, event) pair is checked against a
//! table written out here by hand from §4 of the reference.

use super::*;

const STATES: [CallState; 9] = [
    CallState::Incoming,
    CallState::Establishing,
    CallState::Established,
    CallState::Hold,
    CallState::Transferring,
    CallState::TransferAccepted,
    CallState::Redirecting,
    CallState::Terminating,
    CallState::Terminated,
];

const REMOTE: ResultCode = ResultCode::EndedByPeer;
const FAILURE: ResultCode = ResultCode::NoCalleeEndpoints;

fn events() -> [CallEvent; 17] {
    use CallEvent as E;
    [
        E::Answer,
        E::Reject,
        E::Redirect,
        E::Transfer,
        E::Hangup,
        E::Connected,
        E::Hold,
        E::Resume,
        E::TransferAccepted,
        E::TransferCompleted,
        E::TransferFailed,
        E::RedirectCompleted,
        E::Released,
        E::RemoteEnded(REMOTE),
        E::Failed(FAILURE),
        E::AnswerTimeout,
        E::KeepAliveTimeout,
    ]
}

#[derive(Debug, PartialEq)]
enum Expect {
    To(CallState),
    ToWith(CallState, ResultCode),
    End(ResultCode),
    Same,
    Refused,
}

/// The expected outcome, written per state as the list of events that do something; every other
/// request is refused and every other event changes nothing.
fn expected(state: CallState, event: CallEvent) -> Expect {
    use CallEvent as E;
    use CallState as S;
    use Expect::*;
    let live_endings = |event| match event {
        E::Hangup => Some(To(S::Terminating)),
        E::RemoteEnded(code) | E::Failed(code) => Some(End(code)),
        E::KeepAliveTimeout => Some(End(ResultCode::KeepAliveTimeout)),
        _ => None,
    };
    let specific = match (state, event) {
        (S::Incoming, E::Answer) => Some(To(S::Establishing)),
        (S::Incoming, E::Reject) => Some(End(ResultCode::EndedByApp)),
        (S::Incoming, E::Redirect) => Some(To(S::Redirecting)),
        (S::Incoming, E::AnswerTimeout) => Some(End(ResultCode::AnswerTimeout)),
        (S::Establishing, E::Connected) => Some(To(S::Established)),
        (S::Established, E::Hold) => Some(To(S::Hold)),
        (S::Established, E::Transfer) => Some(To(S::Transferring)),
        (S::Hold, E::Resume) => Some(To(S::Established)),
        (S::Hold, E::Transfer) => Some(To(S::Transferring)),
        (S::Transferring, E::TransferAccepted) => Some(To(S::TransferAccepted)),
        (S::Transferring | S::TransferAccepted, E::TransferCompleted) => {
            Some(End(ResultCode::TransferCompleted))
        }
        (S::Transferring | S::TransferAccepted, E::TransferFailed) => {
            Some(ToWith(S::Established, ResultCode::TransferFailed))
        }
        (S::Redirecting, E::RedirectCompleted) => Some(End(ResultCode::EndedByApp)),
        (S::Terminating, E::Hangup) => Some(Same),
        (S::Terminating, E::Released | E::RemoteEnded(_) | E::Failed(_) | E::KeepAliveTimeout) => {
            Some(End(ResultCode::ConversationEnded))
        }
        (S::Terminating | S::Terminated, _) => None,
        (_, event) => live_endings(event),
    };
    specific.unwrap_or(if event.is_request() { Refused } else { Same })
}

fn actual(state: CallState, event: CallEvent) -> Expect {
    match state.apply(event) {
        Ok(Transition::Moved { to, result: None }) => Expect::To(to),
        Ok(Transition::Moved {
            to,
            result: Some(code),
        }) => Expect::ToWith(to, code),
        Ok(Transition::Ended(code)) => Expect::End(code),
        Ok(Transition::Unchanged) => Expect::Same,
        Err(refusal) => {
            assert_eq!(refusal.state, state);
            assert_eq!(refusal.request, event.request_name());
            Expect::Refused
        }
    }
}

#[test]
fn every_state_and_event_pair_behaves_as_the_table_says() {
    let mut checked = 0;
    for state in STATES {
        for event in events() {
            assert_eq!(
                actual(state, event),
                expected(state, event),
                "state {state}, event {event:?}"
            );
            checked += 1;
        }
    }
    assert_eq!(checked, CallState::ALL.len() * 17);
    assert_eq!(STATES.len(), CallState::ALL.len());
}

#[test]
fn only_requests_are_ever_refused() {
    for state in STATES {
        for event in events().into_iter().filter(|e| !e.is_request()) {
            assert!(state.apply(event).is_ok(), "{state} refused {event:?}");
        }
    }
}

#[test]
fn requests_on_a_terminated_call_are_refused_as_ended() {
    for event in events().into_iter().filter(|e| e.is_request()) {
        let refusal = CallState::Terminated.apply(event).unwrap_err();
        assert!(refusal.call_has_ended());
    }
    let refusal = CallState::Established.apply(CallEvent::Answer).unwrap_err();
    assert!(!refusal.call_has_ended());
}

#[test]
fn refusals_say_what_is_allowed() {
    let refusal = CallState::Established.apply(CallEvent::Answer).unwrap_err();
    assert_eq!(
        refusal.to_string(),
        "answer is not allowed while the call is established; allowed while the call is incoming"
    );
    let refusal = CallState::Incoming.apply(CallEvent::Transfer).unwrap_err();
    assert_eq!(
        refusal.to_string(),
        "transfer is not allowed while the call is incoming; allowed while the call is established or hold"
    );
}

#[test]
fn documented_paths_reach_terminated() {
    // incoming → answer → establishing → established → hold → established → transfer → accepted → done
    let mut state = CallState::Incoming;
    for (event, next) in [
        (CallEvent::Answer, CallState::Establishing),
        (CallEvent::Connected, CallState::Established),
        (CallEvent::Hold, CallState::Hold),
        (CallEvent::Resume, CallState::Established),
        (CallEvent::Transfer, CallState::Transferring),
        (CallEvent::TransferAccepted, CallState::TransferAccepted),
    ] {
        assert_eq!(
            state.apply(event),
            Ok(Transition::Moved {
                to: next,
                result: None
            })
        );
        state = next;
    }
    assert_eq!(
        state.apply(CallEvent::TransferCompleted),
        Ok(Transition::Ended(ResultCode::TransferCompleted))
    );
}

#[test]
fn media_requests_are_accepted_only_on_answered_live_calls() {
    let accepting: Vec<_> = STATES
        .into_iter()
        .filter(|s| s.accepts_media_requests())
        .collect();
    assert_eq!(
        accepting,
        [
            CallState::Establishing,
            CallState::Established,
            CallState::Hold,
            CallState::Transferring,
            CallState::TransferAccepted
        ]
    );
    assert!(CallState::Established.media_active());
    assert!(!CallState::Hold.media_active());
    assert!(!CallState::Terminated.is_live());
}
