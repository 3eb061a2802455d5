//! spandsp as a [`ReceiverUnderTest`], so the conformance procedure runs on it unchanged.
//!
//! Timing: spandsp tells a change only at the end of one of its 102-sample blocks, counted from
//! the receiver's creation, and gives no onset estimate. Input is therefore handed over in pieces
//! that end on block boundaries; a change reported during a piece happened at the piece's end,
//! which is the exact sample at which spandsp knew it. That is `reported_at`; `start` and `end`
//! are left unknown.
//!
//! Rate: spandsp works at 8 kHz only. 16 kHz input goes through [`Decimator`] (rubato, delay
//! trimmed), so 8 kHz sample `k` is 16 kHz sample `2k` and times are doubled back. The decimator's
//! own delay is not counted in the latency; a production pipeline would add it.

use switchboard_media::dtmf::conformance::{Detection, ReceiverUnderTest};

use crate::decimate::Decimator;
use crate::spandsp::{SPANDSP_BLOCK, SpandspDtmfRx, SpandspMissing, ToneChange};

/// spandsp's DTMF receiver, with its default parameters, under test.
pub struct SpandspReceiver {
    rx: SpandspDtmfRx,
    /// `Some` at 16 kHz: brings the input to spandsp's 8 kHz.
    decimator: Option<Decimator>,
    /// 8 kHz samples given to spandsp since the last reset.
    fed: u64,
    /// Decimated samples waiting to go to spandsp (reused, so feeding allocates only at first).
    scratch: Vec<i16>,
    /// Blocks since the last reset that looked like a digit but were not confirmed.
    near_misses: u64,
}

impl SpandspReceiver {
    /// A receiver at 8 kHz, or [`SpandspMissing`] when this build has no spandsp.
    pub fn new() -> Result<SpandspReceiver, SpandspMissing> {
        Ok(SpandspReceiver {
            rx: SpandspDtmfRx::new()?,
            decimator: None,
            fed: 0,
            scratch: Vec::with_capacity(4096),
            near_misses: 0,
        })
    }

    /// The decimator's delay at 16 kHz in milliseconds (excluded from the latency figures).
    pub fn decimator_delay_ms() -> f64 {
        Decimator::new().delay_ms()
    }

    /// Feeds 8 kHz samples in block-aligned pieces; `scale` maps 8 kHz times to input times.
    fn run_8k(&mut self, pcm: &[i16], scale: u64, out: &mut Vec<Detection>) {
        let SpandspReceiver {
            rx,
            fed,
            near_misses,
            ..
        } = self;
        let mut rest = pcm;
        while !rest.is_empty() {
            let to_block_end = (SPANDSP_BLOCK - *fed % SPANDSP_BLOCK) as usize;
            let (piece, tail) = rest.split_at(to_block_end.min(rest.len()));
            rest = tail;
            *fed += piece.len() as u64;
            for change in rx.process(piece) {
                if let ToneChange::Started { digit, level_dbm0 } = change {
                    out.push(Detection {
                        digit,
                        reported_at: *fed * scale,
                        start: None,
                        end: None,
                        // spandsp states the power of both tones together; per tone that is
                        // 3 dB less when the two are equal.
                        level_dbm0: Some(level_dbm0 as f32 - 3.0),
                    });
                }
            }
            if *fed % SPANDSP_BLOCK == 0 && rx.unconfirmed_hit() {
                *near_misses += 1;
            }
        }
    }
}

impl ReceiverUnderTest for SpandspReceiver {
    fn name(&self) -> &str {
        "spandsp 0.0.6"
    }

    fn reset(&mut self, sample_rate: u32) {
        // A fresh spandsp state: block boundaries count from here again.
        self.rx = SpandspDtmfRx::new().expect("spandsp was available when this receiver was made");
        self.decimator = (sample_rate == 16_000).then(Decimator::new);
        self.fed = 0;
        self.near_misses = 0;
    }

    fn feed(&mut self, pcm: &[i16], out: &mut Vec<Detection>) {
        match self.decimator.as_mut() {
            None => self.run_8k(pcm, 1, out),
            Some(decimator) => {
                let mut scratch = std::mem::take(&mut self.scratch);
                scratch.clear();
                decimator.push(pcm, &mut scratch);
                self.run_8k(&scratch, 2, out);
                self.scratch = scratch;
            }
        }
    }

    fn finish(&mut self, out: &mut Vec<Detection>) {
        // spandsp reports a digit when it starts and has nothing to flush; only the decimator
        // still holds samples.
        if let Some(decimator) = self.decimator.as_mut() {
            let mut scratch = std::mem::take(&mut self.scratch);
            scratch.clear();
            decimator.finish(&mut scratch);
            self.run_8k(&scratch, 2, out);
            self.scratch = scratch;
        }
    }

    fn alignment_period(&self, sample_rate: u32) -> usize {
        SPANDSP_BLOCK as usize * (sample_rate as usize / 8000)
    }

    fn near_misses(&self) -> Option<u64> {
        Some(self.near_misses)
    }
}
