//! The one table of `resultInfo` codes Switchboard emits.
//!
//! Call endings use only code/subcode pairs documented by Graph (`call-delete.md`, reference §4);
//! the message says in words why the call ended, in Graph's
//! `"<text>. DiagCode: <code>#<subcode>.@"` format. Operation outcomes use the documented
//! 200/0 and 200/8515, and for failures the HTTP-class code with subcode 0 (Graph documents no
//! operation-failure subcodes), always with a message that says what went wrong. The README
//! reproduces this table; [`ResultCode::ALL`] keeps them in step.

use crate::graph::ResultInfo;

/// Every outcome Switchboard reports in a `resultInfo`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResultCode {
    /// 200/4521: the other party of a P2P call hung up.
    EndedByPeer,
    /// 200/5000: another participant removed this one from the call.
    RemovedByParticipant,
    /// 200/5001: the app hung up (DELETE).
    ConversationEnded,
    /// 200/5002: every other participant left the group call, or the last person left a meeting.
    AllOthersLeft,
    /// 200/5003: the server is shutting down and ended the call.
    ServerShutdown,
    /// 200/5013: nobody else joined the group call.
    NoOneElseJoined,
    /// 200/7000: the app ended its own leg by rejecting or redirecting the call.
    EndedByApp,
    /// 200/7015: the transfer completed; this leg is replaced.
    TransferCompleted,
    /// 408/1106: the app did not answer, reject or redirect in time.
    AnswerTimeout,
    /// 408/8537: no keepAlive within the keepAlive window.
    KeepAliveTimeout,
    /// 408/10057: the callee was rung but never answered.
    NoAnswer,
    /// 410/301005: media connectivity failed.
    MediaConnectivityFailure,
    /// 480/10037: the callee has no endpoint to ring (a user not signed in, an unknown app).
    NoCalleeEndpoints,
    /// 480/10076: the callee declined the call.
    CalleeDeclined,
    /// 480/10134: the target cannot be routed (a kind of target this server cannot reach).
    CannotRoute,
    /// 500/1005: the media plane failed for this call.
    MediaPlaneFailure,
    /// 500/7000: the transfer failed; the call carries on.
    TransferFailed,
    /// 500/7700: the consultative transfer failed; the call carries on.
    ConsultativeTransferFailed,
    /// 200/0: an operation completed.
    OperationCompleted,
    /// 200/0: an operation was cancelled (cancelMediaProcessing, barge-in or the call ending).
    OperationCanceled,
    /// 200/0: a recording ended on a stop tone.
    RecordStopTone,
    /// 200/0: a recording ended after the maximum silence.
    RecordMaxSilence,
    /// 200/8515: a recording reached its maximum duration.
    RecordMaxDuration,
    /// 408/0: nobody spoke before the initial-silence timeout.
    RecordInitialSilence,
    /// 400/0: the prompt's audio could not be fetched or used (format, rate, size, address).
    MediaUnusable,
    /// 500/0: the media plane failed while running the operation.
    OperationMediaFailure,
}

impl ResultCode {
    /// Every code, in table order.
    pub const ALL: [ResultCode; 26] = [
        ResultCode::EndedByPeer,
        ResultCode::RemovedByParticipant,
        ResultCode::ConversationEnded,
        ResultCode::AllOthersLeft,
        ResultCode::ServerShutdown,
        ResultCode::NoOneElseJoined,
        ResultCode::EndedByApp,
        ResultCode::TransferCompleted,
        ResultCode::AnswerTimeout,
        ResultCode::KeepAliveTimeout,
        ResultCode::NoAnswer,
        ResultCode::MediaConnectivityFailure,
        ResultCode::NoCalleeEndpoints,
        ResultCode::CalleeDeclined,
        ResultCode::CannotRoute,
        ResultCode::MediaPlaneFailure,
        ResultCode::TransferFailed,
        ResultCode::ConsultativeTransferFailed,
        ResultCode::OperationCompleted,
        ResultCode::OperationCanceled,
        ResultCode::RecordStopTone,
        ResultCode::RecordMaxSilence,
        ResultCode::RecordMaxDuration,
        ResultCode::RecordInitialSilence,
        ResultCode::MediaUnusable,
        ResultCode::OperationMediaFailure,
    ];

    /// `(code, subcode, text)` of this outcome.
    pub fn parts(self) -> (i32, i32, &'static str) {
        use ResultCode as R;
        match self {
            R::EndedByPeer => (200, 4521, "The other participant ended the call"),
            R::RemovedByParticipant => (
                200,
                5000,
                "Removed from the conversation by another participant",
            ),
            R::ConversationEnded => (200, 5001, "The conversation has ended"),
            R::AllOthersLeft => (
                200,
                5002,
                "The call ended because all other participants left",
            ),
            R::ServerShutdown => (
                200,
                5003,
                "The conversation has ended because the server is shutting down",
            ),
            R::NoOneElseJoined => (
                200,
                5013,
                "The call ended because no one else joined the group call",
            ),
            R::EndedByApp => (200, 7000, "The call was ended by the bot"),
            R::TransferCompleted => (200, 7015, "GracefulTransferCompleted"),
            R::AnswerTimeout => (
                408,
                1106,
                "The call was not answered, rejected or redirected within the answer window",
            ),
            R::KeepAliveTimeout => (408, 8537, "Keep Alive timeout, cleaned up inactive call"),
            R::NoAnswer => (408, 10057, "The callee did not answer in time"),
            R::MediaConnectivityFailure => (410, 301005, "Media connectivity failure"),
            R::NoCalleeEndpoints => (480, 10037, "No callee endpoints found"),
            R::CalleeDeclined => (480, 10076, "The callee declined the call"),
            R::CannotRoute => (480, 10134, "The call could not be routed to the target"),
            R::MediaPlaneFailure => (500, 1005, "The media for this call failed"),
            R::TransferFailed => (500, 7000, "The transfer failed"),
            R::ConsultativeTransferFailed => (500, 7700, "The consultative transfer failed"),
            R::OperationCompleted => (200, 0, "Action completed successfully"),
            R::OperationCanceled => (200, 0, "Action canceled"),
            R::RecordStopTone => (200, 0, "Action completed, stop tone detected"),
            R::RecordMaxSilence => (200, 0, "Action completed, max silence timeout reached"),
            R::RecordMaxDuration => (200, 8515, "Action completed, max record duration reached"),
            R::RecordInitialSilence => (
                408,
                0,
                "No speech was detected before the initial silence timeout",
            ),
            R::MediaUnusable => (400, 0, "The media could not be used"),
            R::OperationMediaFailure => (500, 0, "The media plane failed while running the action"),
        }
    }

    /// The message in Graph's format, with `detail` (when given) appended to the text.
    pub fn message(self, detail: Option<&str>) -> String {
        let (code, subcode, text) = self.parts();
        match detail {
            Some(detail) if !detail.is_empty() => {
                format!("{text}: {detail}. DiagCode: {code}#{subcode}.@")
            }
            _ => format!("{text}. DiagCode: {code}#{subcode}.@"),
        }
    }

    /// The `resultInfo` for this outcome.
    pub fn result_info(self, detail: Option<&str>) -> ResultInfo {
        let (code, subcode, _) = self.parts();
        ResultInfo::new(code, subcode, self.message(detail))
    }

    /// The beta `completionReason` that goes with an operation outcome, if any.
    pub fn record_completion_reason(self) -> Option<&'static str> {
        match self {
            ResultCode::OperationCanceled => Some("operationCanceled"),
            ResultCode::RecordStopTone => Some("stopToneDetected"),
            ResultCode::RecordMaxSilence => Some("maxSilenceTimeout"),
            ResultCode::RecordMaxDuration => Some("maxRecordDurationReached"),
            ResultCode::RecordInitialSilence => Some("initialSilenceTimeout"),
            ResultCode::MediaUnusable => Some("playPromptFailed"),
            ResultCode::OperationMediaFailure => Some("unspecifiedError"),
            ResultCode::OperationCompleted => Some("none"),
            _ => None,
        }
    }

    /// Whether an operation with this outcome is reported as `failed` rather than `completed`.
    pub fn is_failure(self) -> bool {
        self.parts().0 >= 400
    }

    /// The README row prefix of this code: `| code | subcode | text |`.
    pub fn markdown_row_prefix(self) -> String {
        let (c, s, text) = self.parts();
        format!("| {c} | {s} | {text} |")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    /// The code/subcode pairs documented in `call-delete.md` and the operation pages (reference
    /// §2, §4), plus the HTTP-class operation failures with subcode 0.
    const DOCUMENTED: &[(i32, i32)] = &[
        (200, 4097),
        (200, 4521),
        (200, 5000),
        (200, 5001),
        (200, 5002),
        (200, 5003),
        (200, 5007),
        (200, 5010),
        (200, 5012),
        (200, 5013),
        (200, 5014),
        (200, 5020),
        (200, 5030),
        (200, 5300),
        (200, 5855),
        (200, 7000),
        (200, 7015),
        (200, 10550),
        (408, 8537),
        (408, 1106),
        (408, 10057),
        (410, 301005),
        (480, 10037),
        (480, 10076),
        (480, 10134),
        (480, 10199),
        (500, 1005),
        (500, 7000),
        (500, 7700),
        (200, 0),
        (200, 8515),
    ];

    #[test]
    fn every_emitted_code_is_documented_or_an_operation_failure_class() {
        for code in ResultCode::ALL {
            let (c, s, _) = code.parts();
            let operation_failure = s == 0 && matches!(c, 400 | 408 | 500);
            assert!(
                DOCUMENTED.contains(&(c, s)) || operation_failure,
                "{code:?} emits {c}/{s}"
            );
        }
    }

    #[test]
    fn all_lists_every_variant_once() {
        let unique: HashSet<_> = ResultCode::ALL.iter().collect();
        assert_eq!(unique.len(), ResultCode::ALL.len());
    }

    #[test]
    fn messages_follow_the_graph_diag_code_format() {
        assert_eq!(
            ResultCode::KeepAliveTimeout.message(None),
            "Keep Alive timeout, cleaned up inactive call. DiagCode: 408#8537.@"
        );
        let info = ResultCode::CalleeDeclined.result_info(Some("reason busy"));
        assert_eq!((info.code, info.subcode), (480, 10076));
        assert_eq!(
            info.message.as_deref(),
            Some("The callee declined the call: reason busy. DiagCode: 480#10076.@")
        );
    }

    #[test]
    fn failures_are_exactly_the_4xx_and_5xx_outcomes() {
        assert!(!ResultCode::RecordMaxDuration.is_failure());
        assert!(ResultCode::MediaUnusable.is_failure());
        assert!(ResultCode::RecordInitialSilence.is_failure());
    }

    #[test]
    fn the_readme_lists_every_code_in_table_order() {
        let readme = include_str!("../../README.md");
        let table = &readme[readme
            .find("### Result codes")
            .expect("the README has the result-code table")..];
        let mut rest = table;
        for code in ResultCode::ALL {
            let row = code.markdown_row_prefix();
            let at = rest
                .find(&row)
                .unwrap_or_else(|| panic!("README lacks (or misorders) the row {row}"));
            rest = &rest[at + row.len()..];
        }
    }
}
