//! A session's play list: prompts in order, optionally looped, walked one frame per tick.

use super::Prompt;
use std::sync::Arc;

/// The most prompts one play request may list (Graph's playPrompt limit).
pub const MAX_PLAYLIST: usize = 20;

/// The caller's id for a play request, echoed in its finished or cancelled event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PlaybackId(pub u64);

/// Why a play list was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PlaybackError {
    /// No prompts were given.
    #[error("a play request needs at least one prompt; none were given")]
    Empty,
    /// More than [`MAX_PLAYLIST`] prompts.
    #[error("a play request lists {found} prompts; at most {max} are allowed")]
    TooMany {
        /// How many were given.
        found: usize,
        /// The most prompts one play list may hold ([`MAX_PLAYLIST`]).
        max: usize,
    },
}

/// One frame to send, and whether the play list ended with it.
pub struct PlayFrame<'a> {
    /// The prompt the frame belongs to.
    pub prompt: &'a Prompt,
    /// The frame's index in that prompt.
    pub index: usize,
    /// Set on the last frame of a play list that does not loop.
    pub finished: Option<PlaybackId>,
}

/// The play list state. Holds its prompts until the next `start`, so that stopping (which may
/// happen inside a tick) never drops the last reference to a prompt and frees memory there.
pub struct Playback {
    id: PlaybackId,
    items: [Option<Arc<Prompt>>; MAX_PLAYLIST],
    len: usize,
    item: usize,
    frame: usize,
    looped: bool,
    active: bool,
}

impl Default for Playback {
    fn default() -> Self {
        Playback::new()
    }
}

impl Playback {
    /// Nothing playing.
    pub fn new() -> Playback {
        Playback {
            id: PlaybackId(0),
            items: Default::default(),
            len: 0,
            item: 0,
            frame: 0,
            looped: false,
            active: false,
        }
    }

    /// Whether a play list is running.
    pub fn is_active(&self) -> bool {
        self.active
    }

    /// The running play list's id.
    pub fn current(&self) -> Option<PlaybackId> {
        self.active.then_some(self.id)
    }

    /// Starts `prompts` from their first frame, replacing what was playing; returns the id of the
    /// play list it cut short, if any. Allocation-free (clones `Arc`s into a fixed array).
    pub fn start(
        &mut self,
        id: PlaybackId,
        prompts: &[Arc<Prompt>],
        looped: bool,
    ) -> Result<Option<PlaybackId>, PlaybackError> {
        if prompts.is_empty() {
            return Err(PlaybackError::Empty);
        }
        if prompts.len() > MAX_PLAYLIST {
            return Err(PlaybackError::TooMany {
                found: prompts.len(),
                max: MAX_PLAYLIST,
            });
        }
        let cancelled = self.stop();
        for (i, slot) in self.items.iter_mut().enumerate() {
            *slot = prompts.get(i).cloned();
        }
        self.id = id;
        self.len = prompts.len();
        self.item = 0;
        self.frame = 0;
        self.looped = looped;
        self.active = true;
        Ok(cancelled)
    }

    /// Stops now; returns the id of the play list it cut short, if any.
    pub fn stop(&mut self) -> Option<PlaybackId> {
        let was = self.current();
        self.active = false;
        was
    }

    /// The next frame to send, advancing the play list. `None` when nothing plays.
    pub fn next_frame(&mut self) -> Option<PlayFrame<'_>> {
        if !self.active {
            return None;
        }
        let (item, index) = (self.item, self.frame);
        let frames = self.items[item].as_ref().map_or(0, |p| p.frames());
        let mut finished = None;
        self.frame += 1;
        if self.frame >= frames {
            self.frame = 0;
            self.item += 1;
            if self.item >= self.len {
                self.item = 0;
                if !self.looped {
                    self.active = false;
                    finished = Some(self.id);
                }
            }
        }
        let prompt = self.items[item].as_deref()?;
        Some(PlayFrame {
            prompt,
            index,
            finished,
        })
    }
}
