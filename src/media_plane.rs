//! The real-time media plane: worker threads that own calls and their `MediaSession`s, reached
//! through bounded lock-free queues (see the architecture's data flow).
//!
//! Not built yet: this type marks its place in [`crate::server::state::AppState::media`]. The
//! media-plane work replaces it with the worker pool's handle.

/// Handle to the media worker pool (placeholder until the media plane lands).
#[derive(Debug, Default)]
pub struct MediaPlane {
    _private: (),
}
