//! Schema and migrations, applied in order and recorded in `PRAGMA user_version`.

use rusqlite::Connection;

use super::StoreError;

/// Each entry moves the schema from version `index` to `index + 1`. Append only.
const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE tenants (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL
);
CREATE TABLE applications (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL REFERENCES tenants(id),
    name            TEXT NOT NULL,
    secret_hash     TEXT,
    calling_webhook TEXT
);
CREATE INDEX applications_tenant ON applications(tenant_id);
CREATE TABLE users (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL REFERENCES tenants(id),
    display_name TEXT NOT NULL
);
CREATE INDEX users_tenant ON users(tenant_id);
CREATE TABLE online_meetings (
    id                      TEXT PRIMARY KEY,
    tenant_id               TEXT NOT NULL REFERENCES tenants(id),
    organizer_id            TEXT NOT NULL,
    subject                 TEXT,
    start_date_time         TEXT,
    end_date_time           TEXT,
    join_meeting_id         TEXT NOT NULL UNIQUE,
    passcode                TEXT,
    join_web_url            TEXT NOT NULL UNIQUE,
    video_teleconference_id TEXT,
    meeting_json            TEXT NOT NULL,
    created_at              TEXT NOT NULL
);
CREATE INDEX online_meetings_organizer ON online_meetings(tenant_id, organizer_id);
CREATE INDEX online_meetings_vtc ON online_meetings(tenant_id, video_teleconference_id);
"#,
    r#"
CREATE TABLE reminders (
    id              TEXT PRIMARY KEY,
    app_id          TEXT NOT NULL,
    tenant_id       TEXT NOT NULL,
    status          TEXT NOT NULL,
    next_attempt_at INTEGER NOT NULL,
    reminder_json   TEXT NOT NULL
);
CREATE INDEX reminders_due ON reminders(status, next_attempt_at);
CREATE INDEX reminders_app ON reminders(app_id);
"#,
    r#"
CREATE TABLE live_calls (
    id           TEXT PRIMARY KEY,
    app_id       TEXT NOT NULL,
    tenant_id    TEXT NOT NULL,
    callback_uri TEXT NOT NULL,
    started_at   INTEGER NOT NULL
);
"#,
];

/// Brings the schema up to date.
pub(super) fn migrate(connection: &Connection) -> Result<(), StoreError> {
    let version: i64 = connection.pragma_query_value(None, "user_version", |row| row.get(0))?;
    let applied = usize::try_from(version).unwrap_or(0);
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(applied) {
        connection.execute_batch(&format!(
            "BEGIN; {sql}; PRAGMA user_version = {}; COMMIT;",
            index + 1
        ))?;
    }
    Ok(())
}
