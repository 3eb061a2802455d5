//! Who is calling: an application (client credentials) or a user (softphone sign-in, later).

/// The authenticated caller of a request.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Principal {
    /// An application (bot) signed in with client credentials.
    App {
        /// Application (client) id.
        app_id: String,
        /// Tenant the application is registered in.
        tenant_id: String,
    },
    /// A user signed in to the softphone; used by `/me/...` routes.
    User {
        /// User id.
        user_id: String,
        /// Tenant the user belongs to.
        tenant_id: String,
    },
}

impl Principal {
    /// The tenant of the caller.
    pub fn tenant_id(&self) -> &str {
        match self {
            Principal::App { tenant_id, .. } | Principal::User { tenant_id, .. } => tenant_id,
        }
    }

    /// The subject id: the app id or the user id.
    pub fn subject(&self) -> &str {
        match self {
            Principal::App { app_id, .. } => app_id,
            Principal::User { user_id, .. } => user_id,
        }
    }

    /// `"app"` or `"user"`, as in the token's `idtyp` claim.
    pub fn kind(&self) -> &'static str {
        match self {
            Principal::App { .. } => "app",
            Principal::User { .. } => "user",
        }
    }
}
