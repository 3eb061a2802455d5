//! The route table: every route of the server with its method and who may call it, in one list a
//! reader can scan. [`table`] builds the router from it and [`RouteTable::listing`] prints it; the
//! snapshot test at the bottom keeps `routes.snapshot` (next to this file) in step, so a change to
//! the API surface shows up in review.
//!
//! Paths under [`Access::Api`] are mounted under `/v1.0` behind the bearer-token layer
//! ([`super::auth::require_bearer`]): no API route can be reached without a valid token.

use axum::Router;
use axum::handler::Handler;
use axum::http::Method;
use axum::middleware;
use axum::routing::{MethodFilter, MethodRouter, on};

use super::state::AppState;
use super::{
    calling_webhook, calls, discovery, meetings, metrics, notification_delivery, operations,
    participants, recordings, reminders, softphone, softphone_socket, token,
};

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone: pages, the token endpoint, discovery, health, recordings (their own token).
    Public,
    /// Under `/v1.0` with a bearer token from the token endpoint.
    Api,
}

/// One line of the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteEntry {
    /// Who may call it.
    pub access: Access,
    /// The method it answers (GET, POST or DELETE).
    pub method: Method,
    /// The full path as clients send it (API routes with their `/v1.0` prefix).
    pub path: String,
}

/// The routes, as a router per access level and as a listing.
#[derive(Default)]
pub struct RouteTable {
    public: Router<AppState>,
    api: Router<AppState>,
    entries: Vec<RouteEntry>,
}

/// Prefix of every API route.
pub const API_PREFIX: &str = "/v1.0";

/// Every route of the server.
pub fn table() -> RouteTable {
    use Access::{Api, Public};
    let (get, post, delete) = (Method::GET, Method::POST, Method::DELETE);
    let call = "/communications/calls/{call_id}";
    let participant = "/communications/calls/{call_id}/participants/{participant_id}";
    RouteTable::default()
        // Pages people use, and their sign-in and signaling.
        .add(Public, get.clone(), "/", softphone::page)
        .add(Public, get.clone(), "/softphone.js", softphone::script)
        .add(Public, get.clone(), "/meet/{id}", softphone::meeting_page)
        .add(Public, post.clone(), "/softphone/login", softphone::login)
        .add(Public, get.clone(), "/softphone/users", softphone::users)
        .add(
            Public,
            get.clone(),
            "/softphone/ws",
            softphone_socket::upgrade,
        )
        // Identity: tokens for apps, keys for notification receivers.
        .add(Public, post.clone(), token::PATH, token::issue)
        .add(
            Public,
            get.clone(),
            discovery::DISCOVERY_PATH,
            discovery::discovery,
        )
        .add(Public, get.clone(), discovery::JWKS_PATH, discovery::jwks)
        // Operations.
        .add(Public, get.clone(), "/metrics", metrics::render)
        .add(Public, get.clone(), "/healthz", super::router::health)
        .add(Public, get.clone(), recordings::PATH, recordings::download)
        // Calls (Graph §2).
        .add(Api, post.clone(), "/communications/calls", calls::create)
        .add(Api, get.clone(), "/communications/calls", calls::list)
        .add(Api, get.clone(), call, calls::read)
        .add(Api, delete.clone(), call, calls::hang_up)
        .add(Api, post.clone(), &format!("{call}/answer"), calls::answer)
        .add(Api, post.clone(), &format!("{call}/reject"), calls::reject)
        .add(
            Api,
            post.clone(),
            &format!("{call}/redirect"),
            calls::redirect,
        )
        .add(
            Api,
            post.clone(),
            &format!("{call}/transfer"),
            calls::transfer,
        )
        .add(
            Api,
            post.clone(),
            &format!("{call}/keepAlive"),
            calls::keep_alive,
        )
        .add(
            Api,
            post.clone(),
            &format!("{call}/playPrompt"),
            calls::play_prompt,
        )
        .add(
            Api,
            post.clone(),
            &format!("{call}/recordResponse"),
            calls::record_response,
        )
        .add(
            Api,
            post.clone(),
            &format!("{call}/subscribeToTone"),
            calls::subscribe_to_tone,
        )
        .add(
            Api,
            post.clone(),
            &format!("{call}/sendDtmfTones"),
            calls::send_dtmf_tones,
        )
        .add(
            Api,
            post.clone(),
            &format!("{call}/cancelMediaProcessing"),
            calls::cancel_media_processing,
        )
        .add(Api, post.clone(), &format!("{call}/mute"), calls::mute)
        .add(Api, post.clone(), &format!("{call}/unmute"), calls::unmute)
        // Participants and operations of a call (Graph §2.11–§2.13, §3.6).
        .add(
            Api,
            get.clone(),
            &format!("{call}/participants"),
            participants::list,
        )
        .add(
            Api,
            post.clone(),
            &format!("{call}/participants/invite"),
            participants::invite,
        )
        .add(Api, get.clone(), participant, participants::read)
        .add(Api, delete.clone(), participant, participants::remove)
        .add(
            Api,
            post.clone(),
            &format!("{participant}/mute"),
            participants::mute,
        )
        .add(
            Api,
            get.clone(),
            &format!("{call}/operations/{{operation_id}}"),
            operations::read,
        )
        // Online meetings (Graph §2.14–§2.15).
        .add(
            Api,
            post.clone(),
            "/users/{user_id}/onlineMeetings",
            meetings::create_for_user,
        )
        .add(
            Api,
            get.clone(),
            "/users/{user_id}/onlineMeetings",
            meetings::list_for_user,
        )
        .add(
            Api,
            get.clone(),
            "/users/{user_id}/onlineMeetings/{meeting_id}",
            meetings::read_for_user,
        )
        .add(
            Api,
            post.clone(),
            "/me/onlineMeetings",
            meetings::create_for_me,
        )
        .add(
            Api,
            get.clone(),
            "/me/onlineMeetings",
            meetings::list_for_me,
        )
        .add(
            Api,
            get.clone(),
            "/me/onlineMeetings/{meeting_id}",
            meetings::read_for_me,
        )
        .add(
            Api,
            get.clone(),
            "/communications/onlineMeetings",
            meetings::search,
        )
        // Switchboard extensions: the app's calling webhook, reminder calls, notification delivery.
        .add(
            Api,
            get.clone(),
            "/switchboard/callingWebhook",
            calling_webhook::read,
        )
        .add(
            Api,
            Method::PUT,
            "/switchboard/callingWebhook",
            calling_webhook::set,
        )
        .add(
            Api,
            delete.clone(),
            "/switchboard/callingWebhook",
            calling_webhook::clear,
        )
        .add(
            Api,
            post.clone(),
            "/communications/reminders",
            reminders::create,
        )
        .add(
            Api,
            get.clone(),
            "/communications/reminders",
            reminders::list,
        )
        .add(
            Api,
            get.clone(),
            "/communications/reminders/{reminder_id}",
            reminders::read,
        )
        .add(
            Api,
            delete,
            "/communications/reminders/{reminder_id}",
            reminders::cancel,
        )
        .add(
            Api,
            get,
            "/switchboard/notificationDelivery",
            notification_delivery::status,
        )
        .add(
            Api,
            post,
            "/switchboard/testNotification",
            notification_delivery::test_notification,
        )
}

impl RouteTable {
    /// Adds `handler` for `method` on `path` (relative to `/v1.0` for [`Access::Api`]).
    pub fn add<H, T>(mut self, access: Access, method: Method, path: &str, handler: H) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        let filter = MethodFilter::try_from(method.clone())
            .unwrap_or_else(|_| panic!("route table: {method} has no method filter"));
        let route: MethodRouter<AppState> = on(filter, handler);
        // Two methods on one path merge into one method router; the same method twice panics
        // at start-up, which the snapshot test catches first.
        match access {
            Access::Public => self.public = self.public.route(path, route),
            Access::Api => self.api = self.api.route(path, route),
        }
        let path = match access {
            Access::Public => path.to_owned(),
            Access::Api => format!("{API_PREFIX}{path}"),
        };
        self.entries.push(RouteEntry {
            access,
            method,
            path,
        });
        self
    }

    /// The routes as one router: the API routes under `/v1.0` behind the bearer layer.
    pub fn into_router(self, state: &AppState) -> Router<AppState> {
        let api = self.api.route_layer(middleware::from_fn_with_state(
            state.clone(),
            super::auth::require_bearer,
        ));
        self.public.nest(API_PREFIX, api)
    }

    /// One line per route: access, method and path, sorted by path then method.
    pub fn listing(&self) -> String {
        let mut entries = self.entries.clone();
        entries.sort_by(|a, b| (&a.path, a.method.as_str()).cmp(&(&b.path, b.method.as_str())));
        let mut text = String::new();
        for entry in entries {
            let access = match entry.access {
                Access::Public => "public",
                Access::Api => "bearer",
            };
            text.push_str(&format!(
                "{access:<7}{:<7}{}\n",
                entry.method.as_str(),
                entry.path
            ));
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SNAPSHOT: &str = "src/http/routes.snapshot";

    /// The route table as committed. After a deliberate change to the API surface, rerun with
    /// `UPDATE_SNAPSHOTS=1` and review the diff of `routes.snapshot`.
    #[test]
    fn the_route_table_matches_its_snapshot() {
        let listing = table().listing();
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(SNAPSHOT);
        if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
            std::fs::write(&path, &listing).unwrap();
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == listing,
            "the route table changed; review it and rerun with UPDATE_SNAPSHOTS=1 to accept:\n\
             --- {SNAPSHOT}\n{committed}\n+++ table()\n{listing}"
        );
    }

    #[test]
    fn no_route_is_listed_twice() {
        let table = table();
        let mut seen = std::collections::HashSet::new();
        for entry in &table.entries {
            assert!(
                seen.insert((entry.method.clone(), entry.path.clone())),
                "{} {} is in the table twice",
                entry.method,
                entry.path
            );
        }
    }
}
