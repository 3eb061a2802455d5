//! The few functions of libspandsp's DTMF receiver this tool calls, declared from the public
//! header `<spandsp/dtmf.h>` (spandsp 0.0.6). Only the receiver; nothing else is bound.

use std::ffi::{c_char, c_int, c_void};
use std::marker::{PhantomData, PhantomPinned};

/// spandsp's receiver state, `dtmf_rx_state_t`: opaque here, allocated and freed by spandsp.
#[repr(C)]
pub struct DtmfRxState {
    _opaque: [u8; 0],
    // Not Send, not Sync, not Unpin: spandsp owns it and it must stay where spandsp put it.
    _marker: PhantomData<(*mut u8, PhantomPinned)>,
}

/// `digits_rx_callback_t`: receives completed digit strings (unused: we take the real-time one).
pub type DigitsRxCallback = Option<unsafe extern "C" fn(*mut c_void, *const c_char, c_int)>;

/// `tone_report_func_t`: called on every confirmed change of state with the digit's ASCII code
/// (0 when the digit ends), its level in dBm0 (−99 at the end) and the samples since the last
/// change.
pub type ToneReportCallback = Option<unsafe extern "C" fn(*mut c_void, c_int, c_int, c_int)>;

#[link(name = "spandsp")]
unsafe extern "C" {
    /// Allocates (when `s` is null) and initialises a receiver.
    pub fn dtmf_rx_init(
        s: *mut DtmfRxState,
        callback: DigitsRxCallback,
        user_data: *mut c_void,
    ) -> *mut DtmfRxState;

    /// Installs the callback that reports each start and end of a digit as it is confirmed.
    pub fn dtmf_rx_set_realtime_callback(
        s: *mut DtmfRxState,
        callback: ToneReportCallback,
        user_data: *mut c_void,
    );

    /// Processes `samples` 16-bit samples at 8 kHz; returns the number left unprocessed (0).
    pub fn dtmf_rx(s: *mut DtmfRxState, amp: *const i16, samples: c_int) -> c_int;

    /// The state after the last block: the digit's ASCII code while one is confirmed, `'x'` when
    /// the last block looked like a digit not (yet) confirmed, 0 otherwise.
    pub fn dtmf_rx_status(s: *mut DtmfRxState) -> c_int;

    /// Frees a receiver allocated by `dtmf_rx_init(NULL, …)`.
    pub fn dtmf_rx_free(s: *mut DtmfRxState) -> c_int;
}
