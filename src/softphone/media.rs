//! The softphone's seam to the media plane: answer a page's WebRTC offer as a member of a
//! conversation, learn when the page's media is gone on its own, and close it.
//!
//! A trait rather than the media engine itself so the hub's tests can run the softphone's
//! signaling against a stand-in, in paused time, without sockets.

use std::future::Future;
use std::pin::Pin;

use crate::calls::ids::CallId;
use crate::media_plane::{WebRtcLeg, WebRtcLegState, WebRtcOfferError};

/// A boxed future that can move between threads.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The media plane's answer to a page's offer.
pub struct BrowserAnswer {
    /// The SDP answer for the page.
    pub sdp: String,
    /// Resolves with the reason when the page's media fails or the page closes it on its own;
    /// with `None` when the softphone closed it.
    pub gone: BoxFuture<'static, Option<String>>,
}

/// What answers pages' offers.
pub trait BrowserMedia: Send + Sync + 'static {
    /// Answers the page's offer for `leg` (the leg id the softphone picked for the page's media,
    /// its conversation and the user's participant id); the member joins the conversation's
    /// audio at once.
    fn accept_offer(
        &self,
        leg: WebRtcLeg,
        offer_sdp: String,
    ) -> BoxFuture<'_, Result<BrowserAnswer, WebRtcOfferError>>;

    /// Tears the leg down (no event follows).
    fn close(&self, call: &CallId);
}

impl BrowserMedia for crate::media_plane::MediaEngine {
    fn accept_offer(
        &self,
        leg: WebRtcLeg,
        offer_sdp: String,
    ) -> BoxFuture<'_, Result<BrowserAnswer, WebRtcOfferError>> {
        Box::pin(async move {
            let answer = self.accept_webrtc_offer(leg, offer_sdp).await?;
            let mut state = answer.state;
            let gone: BoxFuture<'static, Option<String>> = Box::pin(async move {
                loop {
                    let why = match &*state.borrow_and_update() {
                        WebRtcLegState::Failed { detail } => Some(detail.clone()),
                        WebRtcLegState::ClosedByPeer => {
                            Some("the browser closed the connection".to_owned())
                        }
                        WebRtcLegState::Closed => return None,
                        WebRtcLegState::Connecting | WebRtcLegState::Connected { .. } => None,
                    };
                    if why.is_some() {
                        return why;
                    }
                    if state.changed().await.is_err() {
                        // The media plane dropped the leg without a final state: shut down.
                        return None;
                    }
                }
            });
            Ok(BrowserAnswer {
                sdp: answer.sdp,
                gone,
            })
        })
    }

    fn close(&self, call: &CallId) {
        self.close_webrtc_leg(call);
    }
}
