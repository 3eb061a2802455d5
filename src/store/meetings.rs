//! Online meetings: stored with their searchable fields in columns and the full Graph
//! `onlineMeeting` JSON as served.

use rusqlite::{OptionalExtension, Row, params};

use super::{Store, StoreError, is_unique_violation};

/// A stored online meeting.
#[derive(Debug, Clone, PartialEq)]
pub struct MeetingRecord {
    /// Meeting id.
    pub id: String,
    /// Tenant of the organizer.
    pub tenant_id: String,
    /// User id of the organizer.
    pub organizer_id: String,
    /// Subject, if any.
    pub subject: Option<String>,
    /// `startDateTime` as sent (ISO 8601).
    pub start_date_time: Option<String>,
    /// `endDateTime` as sent (ISO 8601).
    pub end_date_time: Option<String>,
    /// `joinMeetingIdSettings.joinMeetingId`; unique across the server.
    pub join_meeting_id: String,
    /// `joinMeetingIdSettings.passcode`.
    pub passcode: Option<String>,
    /// `joinWebUrl`; unique across the server.
    pub join_web_url: String,
    /// `videoTeleconferenceId`, for `$filter`.
    pub video_teleconference_id: Option<String>,
    /// The `onlineMeeting` JSON served by GET.
    pub meeting: serde_json::Value,
    /// When it was stored (RFC 3339).
    pub created_at: String,
}

const MEETING_COLUMNS: &str = "id, tenant_id, organizer_id, subject, start_date_time, end_date_time, \
     join_meeting_id, passcode, join_web_url, video_teleconference_id, meeting_json, created_at";

fn meeting_from_row(row: &Row<'_>) -> rusqlite::Result<(MeetingRecord, String)> {
    let json: String = row.get(10)?;
    Ok((
        MeetingRecord {
            id: row.get(0)?,
            tenant_id: row.get(1)?,
            organizer_id: row.get(2)?,
            subject: row.get(3)?,
            start_date_time: row.get(4)?,
            end_date_time: row.get(5)?,
            join_meeting_id: row.get(6)?,
            passcode: row.get(7)?,
            join_web_url: row.get(8)?,
            video_teleconference_id: row.get(9)?,
            meeting: serde_json::Value::Null,
            created_at: row.get(11)?,
        },
        json,
    ))
}

fn with_json((mut record, json): (MeetingRecord, String)) -> Result<MeetingRecord, StoreError> {
    record.meeting = serde_json::from_str(&json)?;
    Ok(record)
}

fn query_meetings(
    c: &rusqlite::Connection,
    condition: &str,
    params: impl rusqlite::Params,
) -> Result<Vec<MeetingRecord>, StoreError> {
    let mut statement = c.prepare(&format!(
        "SELECT {MEETING_COLUMNS} FROM online_meetings WHERE {condition} ORDER BY created_at, id"
    ))?;
    let rows = statement.query_map(params, meeting_from_row)?;
    rows.map(|row| with_json(row?)).collect()
}

impl Store {
    /// Stores a new meeting; a reused id, join id or join URL is [`StoreError::Duplicate`].
    pub async fn insert_meeting(&self, meeting: MeetingRecord) -> Result<(), StoreError> {
        self.run(move |c| {
            let json = serde_json::to_string(&meeting.meeting)?;
            let result = c.execute(
                &format!("INSERT INTO online_meetings ({MEETING_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"),
                params![
                    meeting.id,
                    meeting.tenant_id,
                    meeting.organizer_id,
                    meeting.subject,
                    meeting.start_date_time,
                    meeting.end_date_time,
                    meeting.join_meeting_id,
                    meeting.passcode,
                    meeting.join_web_url,
                    meeting.video_teleconference_id,
                    json,
                    meeting.created_at
                ],
            );
            match result {
                Ok(_) => Ok(()),
                Err(error) if is_unique_violation(&error) => {
                    let text = error.to_string();
                    let (what, value) = if text.contains("join_meeting_id") {
                        ("joinMeetingId", meeting.join_meeting_id)
                    } else if text.contains("join_web_url") {
                        ("joinWebUrl", meeting.join_web_url)
                    } else {
                        ("onlineMeeting id", meeting.id)
                    };
                    Err(StoreError::Duplicate { what, value })
                }
                Err(error) => Err(error.into()),
            }
        })
        .await
    }

    /// Replaces the served JSON of a meeting; `false` when there is no such meeting.
    pub async fn update_meeting_json(
        &self,
        tenant_id: &str,
        id: &str,
        meeting: serde_json::Value,
    ) -> Result<bool, StoreError> {
        let (tenant_id, id) = (tenant_id.to_owned(), id.to_owned());
        self.run(move |c| {
            let json = serde_json::to_string(&meeting)?;
            let changed = c.execute(
                "UPDATE online_meetings SET meeting_json = ?3 WHERE tenant_id = ?1 AND id = ?2",
                params![tenant_id, id, json],
            )?;
            Ok(changed > 0)
        })
        .await
    }

    /// The meeting with this id in this tenant.
    pub async fn get_meeting(
        &self,
        tenant_id: &str,
        id: &str,
    ) -> Result<Option<MeetingRecord>, StoreError> {
        let (tenant_id, id) = (tenant_id.to_owned(), id.to_owned());
        self.run(move |c| {
            c.query_row(
                &format!(
                    "SELECT {MEETING_COLUMNS} FROM online_meetings WHERE tenant_id = ?1 AND id = ?2"
                ),
                params![tenant_id, id],
                meeting_from_row,
            )
            .optional()?
            .map(with_json)
            .transpose()
        })
        .await
    }

    /// The meetings a user organizes, oldest first.
    pub async fn list_meetings_by_organizer(
        &self,
        tenant_id: &str,
        organizer_id: &str,
    ) -> Result<Vec<MeetingRecord>, StoreError> {
        let (tenant_id, organizer_id) = (tenant_id.to_owned(), organizer_id.to_owned());
        self.run(move |c| {
            query_meetings(
                c,
                "tenant_id = ?1 AND organizer_id = ?2",
                params![tenant_id, organizer_id],
            )
        })
        .await
    }

    /// The meeting with this `joinMeetingId` (any tenant: join ids are server-wide).
    pub async fn find_meeting_by_join_id(
        &self,
        join_meeting_id: &str,
    ) -> Result<Option<MeetingRecord>, StoreError> {
        let join_meeting_id = join_meeting_id.to_owned();
        self.run(move |c| {
            Ok(
                query_meetings(c, "join_meeting_id = ?1", [join_meeting_id])?
                    .into_iter()
                    .next(),
            )
        })
        .await
    }

    /// The meeting with this `joinWebUrl` (any tenant).
    pub async fn find_meeting_by_join_web_url(
        &self,
        join_web_url: &str,
    ) -> Result<Option<MeetingRecord>, StoreError> {
        let join_web_url = join_web_url.to_owned();
        self.run(move |c| {
            Ok(query_meetings(c, "join_web_url = ?1", [join_web_url])?
                .into_iter()
                .next())
        })
        .await
    }

    /// The meetings of a tenant with this `videoTeleconferenceId`.
    pub async fn find_meetings_by_video_teleconference_id(
        &self,
        tenant_id: &str,
        video_teleconference_id: &str,
    ) -> Result<Vec<MeetingRecord>, StoreError> {
        let (tenant_id, vtc) = (tenant_id.to_owned(), video_teleconference_id.to_owned());
        self.run(move |c| {
            query_meetings(
                c,
                "tenant_id = ?1 AND video_teleconference_id = ?2",
                params![tenant_id, vtc],
            )
        })
        .await
    }

    /// Deletes a meeting; `false` when there was none.
    pub async fn delete_meeting(&self, tenant_id: &str, id: &str) -> Result<bool, StoreError> {
        let (tenant_id, id) = (tenant_id.to_owned(), id.to_owned());
        self.run(move |c| {
            Ok(c.execute(
                "DELETE FROM online_meetings WHERE tenant_id = ?1 AND id = ?2",
                params![tenant_id, id],
            )? > 0)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::TenantRecord;

    fn meeting(id: &str, join: &str) -> MeetingRecord {
        MeetingRecord {
            id: id.into(),
            tenant_id: "t1".into(),
            organizer_id: "u1".into(),
            subject: Some("Standup".into()),
            start_date_time: Some("2025-01-01T10:00:00Z".into()),
            end_date_time: Some("2025-01-01T10:30:00Z".into()),
            join_meeting_id: join.into(),
            passcode: Some("abc123".into()),
            join_web_url: format!("http://sb.test/meet/{join}"),
            video_teleconference_id: Some(format!("vtc-{join}")),
            meeting: serde_json::json!({"id": id, "subject": "Standup"}),
            created_at: format!("2025-01-01T09:00:0{}Z", id.len() % 10),
        }
    }

    #[tokio::test]
    async fn meetings_round_trip_and_are_found_by_join_fields() {
        let store = Store::open_in_memory().unwrap();
        store
            .upsert_tenant(TenantRecord {
                id: "t1".into(),
                name: "T".into(),
            })
            .await
            .unwrap();
        store.insert_meeting(meeting("m1", "111")).await.unwrap();
        store.insert_meeting(meeting("m22", "222")).await.unwrap();

        let got = store.get_meeting("t1", "m1").await.unwrap().unwrap();
        assert_eq!(got, meeting("m1", "111"));
        assert!(
            store.get_meeting("t2", "m1").await.unwrap().is_none(),
            "other tenant must not see it"
        );
        assert_eq!(
            store
                .find_meeting_by_join_id("222")
                .await
                .unwrap()
                .unwrap()
                .id,
            "m22"
        );
        assert_eq!(
            store
                .find_meeting_by_join_web_url("http://sb.test/meet/111")
                .await
                .unwrap()
                .unwrap()
                .id,
            "m1"
        );
        assert_eq!(
            store
                .find_meetings_by_video_teleconference_id("t1", "vtc-111")
                .await
                .unwrap()
                .len(),
            1
        );
        assert_eq!(
            store
                .list_meetings_by_organizer("t1", "u1")
                .await
                .unwrap()
                .len(),
            2
        );

        let mut same_join_id = meeting("m3", "111");
        same_join_id.join_web_url = "http://sb.test/meet/other".into();
        let duplicate = store.insert_meeting(same_join_id).await.unwrap_err();
        assert!(
            matches!(
                duplicate,
                StoreError::Duplicate {
                    what: "joinMeetingId",
                    ..
                }
            ),
            "{duplicate}"
        );

        assert!(
            store
                .update_meeting_json("t1", "m1", serde_json::json!({"x": 1}))
                .await
                .unwrap()
        );
        assert_eq!(
            store
                .get_meeting("t1", "m1")
                .await
                .unwrap()
                .unwrap()
                .meeting["x"],
            1
        );
        assert!(store.delete_meeting("t1", "m1").await.unwrap());
        assert!(!store.delete_meeting("t1", "m1").await.unwrap());
    }
}
