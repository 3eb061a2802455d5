//! The demo directory's fixed ids: `switchboard serve` seeds them when no application is
//! configured, and the demo Front Desk's flow names them.

/// Demo tenant id.
pub const DEMO_TENANT_ID: &str = "00000000-0000-4000-8000-000000000001";
/// Demo application (bot) id.
pub const DEMO_APP_ID: &str = "00000000-0000-4000-8000-00000000a001";
/// Demo agent "Alice Agent".
pub const DEMO_ALICE_ID: &str = "00000000-0000-4000-8000-00000000a11c";
/// Demo agent "Bob Agent".
pub const DEMO_BOB_ID: &str = "00000000-0000-4000-8000-00000000b0b0";
