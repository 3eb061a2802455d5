//! Test support: a media plane without audio, for tests of the call service and the softphone
//! that need calls to connect but not to carry sound. The server always runs the real media
//! plane (`media_plane::MediaEngine`); this is not compiled into it.

use std::sync::Arc;

use tokio::sync::mpsc::Receiver;

use super::{
    MediaCommand, MediaEvent, MediaEventSink, MediaPlane, MediaPlaneBusy, OperationOutcome,
};
use crate::calls::result_codes::ResultCode;
use crate::calls::runtime::MEDIA_EVENT_QUEUE;

/// Legs connect at once with no audio, and every media operation fails with a message saying no
/// media engine runs. Tone subscriptions succeed and simply never report a key.
#[derive(Debug, Clone)]
pub struct SignallingOnlyMedia {
    events: MediaEventSink,
}

impl SignallingOnlyMedia {
    /// A signalling-only media plane reporting to `events`.
    pub fn new(events: MediaEventSink) -> SignallingOnlyMedia {
        SignallingOnlyMedia { events }
    }

    /// A signalling-only plane and the receiver of its events, as `CallService::start` takes
    /// them.
    pub fn plane() -> (Arc<dyn MediaPlane>, Receiver<MediaEvent>) {
        let (sink, events) = MediaEventSink::channel(MEDIA_EVENT_QUEUE);
        (Arc::new(SignallingOnlyMedia::new(sink)), events)
    }
}

impl MediaPlane for SignallingOnlyMedia {
    fn submit(&self, command: MediaCommand) -> Result<(), MediaPlaneBusy> {
        let event = match command {
            MediaCommand::OpenLeg { call, .. } => MediaEvent::LegReady { call },
            MediaCommand::PlayPrompts {
                call, operation, ..
            }
            | MediaCommand::Record {
                call, operation, ..
            }
            | MediaCommand::SendDtmf {
                call, operation, ..
            } => MediaEvent::OperationFinished {
                call,
                operation,
                outcome: OperationOutcome {
                    result: ResultCode::OperationMediaFailure,
                    detail: Some(
                        "this server runs without a media engine (signalling only)".into(),
                    ),
                    recording: None,
                },
            },
            _ => return Ok(()),
        };
        self.events.push(event).map_err(|_| MediaPlaneBusy)
    }
}

mod tests {
    use super::*;
    use crate::calls::ids::{CallId, ConversationId, OperationId, ParticipantId};
    use crate::calls::media::Hosting;

    #[test]
    fn signalling_only_media_connects_legs_and_fails_operations_clearly() {
        let (sink, mut events) = MediaEventSink::channel(4);
        let media = SignallingOnlyMedia::new(sink);
        let call = CallId::from("c1");
        media
            .submit(MediaCommand::OpenLeg {
                call: call.clone(),
                conversation: ConversationId::from("v"),
                participant: ParticipantId::from("p"),
                source_id: 1,
                hosting: Hosting::Service,
                prefetch: vec![],
            })
            .unwrap();
        assert_eq!(
            events.try_recv().unwrap(),
            MediaEvent::LegReady { call: call.clone() }
        );
        media
            .submit(MediaCommand::SubscribeTones { call: call.clone() })
            .unwrap();
        assert!(events.try_recv().is_err(), "a subscription has no reply");
        media
            .submit(MediaCommand::PlayPrompts {
                call: call.clone(),
                operation: OperationId::from("o"),
                prompts: vec![],
            })
            .unwrap();
        let MediaEvent::OperationFinished { outcome, .. } = events.try_recv().unwrap() else {
            panic!("expected an operation result")
        };
        assert_eq!(outcome.result, ResultCode::OperationMediaFailure);
        assert!(outcome.detail.unwrap().contains("without a media engine"));
    }
}
