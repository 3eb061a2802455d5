//! The lifecycle of a call's asynchronous operations and their Graph view (§1.2).

use super::ids::{CallId, OperationId, ParticipantId};
use super::media::Recording;
use super::result_codes::ResultCode;
use crate::graph::{CommsOperation, InvitationParticipantInfo, OperationKind, OperationStatus};

/// One operation of a call.
#[derive(Debug, Clone, PartialEq)]
pub struct Operation {
    /// The id in `…/calls/{id}/operations/{id}`, the `Location` the request answered with.
    pub id: OperationId,
    /// Which request started it, written as the operation's `@odata.type`.
    pub kind: OperationKind,
    /// Where it stands.
    pub status: OperationStatus,
    /// The caller's correlation token, echoed.
    pub client_context: Option<String>,
    /// How it ended, with details.
    pub outcome: Option<(ResultCode, Option<String>)>,
    /// The clip of a record operation.
    pub recording: Option<Recording>,
    /// The invitees of an invite, as sent.
    pub invitees: Option<Vec<InvitationParticipantInfo>>,
    /// Invitees still ringing.
    pub ringing: Vec<ParticipantId>,
    /// How many invitees joined.
    pub joined: usize,
    /// Why the last invitee that did not join failed.
    pub last_failure: Option<(ResultCode, Option<String>)>,
}

impl Operation {
    /// A new operation with a fresh id.
    pub fn new(
        kind: OperationKind,
        status: OperationStatus,
        client_context: Option<String>,
    ) -> Operation {
        Operation {
            id: OperationId::random(),
            kind,
            status,
            client_context,
            outcome: None,
            recording: None,
            invitees: None,
            ringing: Vec::new(),
            joined: 0,
            last_failure: None,
        }
    }

    /// A new operation that is already complete (subscribeToTone, mute, cancel).
    pub fn completed(kind: OperationKind, client_context: Option<String>) -> Operation {
        let mut op = Operation::new(kind, OperationStatus::Completed, client_context);
        op.outcome = Some((ResultCode::OperationCompleted, None));
        op
    }

    /// Whether the operation will still change (and so be notified when it does).
    pub fn is_pending(&self) -> bool {
        matches!(
            self.status,
            OperationStatus::NotStarted | OperationStatus::Running
        )
    }

    /// Records the outcome: `failed` for 4xx/5xx results, `completed` otherwise.
    pub fn finish(
        &mut self,
        result: ResultCode,
        detail: Option<String>,
        recording: Option<Recording>,
    ) {
        self.status = if result.is_failure() {
            OperationStatus::Failed
        } else {
            OperationStatus::Completed
        };
        self.outcome = Some((result, detail));
        self.recording = recording;
    }

    /// The Graph path of the operation.
    pub fn path(&self, call: &CallId) -> String {
        format!("/communications/calls/{call}/operations/{}", self.id)
    }

    /// The Graph view of the operation.
    pub fn view(&self, call: &CallId) -> CommsOperation {
        let completion_reason = self.outcome.as_ref().and_then(|(code, _)| match self.kind {
            OperationKind::Record => code.record_completion_reason(),
            OperationKind::PlayPrompt | OperationKind::SendDtmfTones => Some(match code {
                ResultCode::OperationCompleted => "completedSuccessfully",
                ResultCode::OperationCanceled => "mediaOperationCanceled",
                _ => "unknown",
            }),
            _ => None,
        });
        CommsOperation {
            kind: self.kind,
            odata_id: Some(self.path(call)),
            id: Some(self.id.to_string()),
            status: self.status,
            client_context: self.client_context.clone(),
            result_info: self
                .outcome
                .as_ref()
                .map(|(code, detail)| code.result_info(detail.as_deref())),
            recording_location: self.recording.as_ref().map(|r| r.location.clone()),
            recording_access_token: self.recording.as_ref().map(|r| r.access_token.clone()),
            completion_reason: completion_reason.map(str::to_owned),
            participants: self.invitees.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn running_prompt_operation_view_matches_the_docs_shape() {
        let op = Operation::new(
            OperationKind::PlayPrompt,
            OperationStatus::Running,
            Some("ctx".into()),
        );
        let view = serde_json::to_value(op.view(&CallId::from("c1"))).unwrap();
        assert_eq!(view["@odata.type"], "#microsoft.graph.playPromptOperation");
        assert_eq!(view["status"], "running");
        assert_eq!(view["clientContext"], "ctx");
        assert!(view.get("resultInfo").is_none());
        assert_eq!(
            view["@odata.id"],
            format!("/communications/calls/c1/operations/{}", op.id)
        );
    }

    #[test]
    fn finished_record_operation_carries_recording_and_reason() {
        let mut op = Operation::new(OperationKind::Record, OperationStatus::Running, None);
        op.finish(
            ResultCode::RecordMaxDuration,
            None,
            Some(Recording {
                location: "http://h/r/1".into(),
                access_token: "t".into(),
            }),
        );
        let view = serde_json::to_value(op.view(&CallId::from("c"))).unwrap();
        assert_eq!(view["status"], "completed");
        assert_eq!(view["resultInfo"]["code"], 200);
        assert_eq!(view["resultInfo"]["subcode"], 8515);
        assert_eq!(view["recordingLocation"], "http://h/r/1");
        assert_eq!(view["recordingAccessToken"], "t");
        assert_eq!(view["completionReason"], "maxRecordDurationReached");
    }

    #[test]
    fn failures_and_cancellations_are_told_apart() {
        let mut op = Operation::new(OperationKind::PlayPrompt, OperationStatus::Running, None);
        op.finish(
            ResultCode::MediaUnusable,
            Some("WAV at 8000 Hz; allowed 16000 Hz".into()),
            None,
        );
        let view = serde_json::to_value(op.view(&CallId::from("c"))).unwrap();
        assert_eq!(view["status"], "failed");
        assert_eq!(view["resultInfo"]["code"], 400);
        assert!(
            view["resultInfo"]["message"]
                .as_str()
                .unwrap()
                .contains("8000 Hz")
        );
        op.finish(ResultCode::OperationCanceled, None, None);
        let view = serde_json::to_value(op.view(&CallId::from("c"))).unwrap();
        assert_eq!(view["status"], "completed");
        assert_eq!(view["completionReason"], json!("mediaOperationCanceled"));
        assert!(!op.is_pending());
    }
}
