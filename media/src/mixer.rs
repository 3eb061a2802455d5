//! The mixer: who hears what in a call, and the saturating sum that makes a mix.
//!
//! Every leg hears the sum of everyone else who is unmuted and sounding, plus the bot. A leg's mix is
//! the call total minus its own voice, so all mixes together cost one pass over the sources instead
//! of one per leg. Routing decides, per leg and per tick, the cheapest way to produce what it hears:
//! nothing (comfort silence), the bot's cached prompt packet as is, another leg's packet forwarded
//! as is, or an encode — shared by every leg that hears the same mix.

use crate::frame::{FRAME_SAMPLES, Frame};

/// The most legs a call may have (bits 0..127 of a [`Sources`] set): a conference of a large
/// meeting is one session, so the set is 128 bits wide (two machine words, still one compare).
pub const MAX_LEGS: usize = 127;

/// A set of audio sources: bit `i` is leg `i`, [`Sources::BOT`] is the bot.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sources(pub u128);

impl Sources {
    /// The bot (prompts, tones, generated speech).
    pub const BOT: Sources = Sources(1 << MAX_LEGS);

    /// The set holding only leg `i`.
    pub fn leg(i: usize) -> Sources {
        Sources(1 << i)
    }

    /// Whether the set holds leg `i`.
    pub fn has_leg(self, i: usize) -> bool {
        self.0 & (1 << i) != 0
    }

    /// Whether the set holds the bot.
    pub fn has_bot(self) -> bool {
        self.0 & Sources::BOT.0 != 0
    }

    /// The set without leg `i`.
    pub fn without_leg(self, i: usize) -> Sources {
        Sources(self.0 & !(1 << i))
    }

    /// The only remote leg in the set, if it holds exactly one source and that is a leg.
    pub fn single_leg(self) -> Option<usize> {
        (self.0.count_ones() == 1 && !self.has_bot()).then(|| self.0.trailing_zeros() as usize)
    }
}

/// How one leg's outgoing packet is produced this tick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// Nobody to hear: the cached comfort-silence packet.
    Silence,
    /// Only the bot, playing a cached prompt: its packet as is.
    BotPacket,
    /// Only leg `from`: its received packet as is, without decode or encode.
    Forward {
        /// The leg whose packet is forwarded.
        from: usize,
    },
    /// A mix to encode; `owner` is the first leg hearing this exact mix, which encodes it once for
    /// every leg that hears the same.
    Encode {
        /// The leg that encodes (itself, or an earlier leg whose packet is copied).
        owner: usize,
        /// What is in the mix.
        mix: Sources,
    },
}

/// Routes leg `leg` given who is `sounding` this tick. `bot_cached` says whether the bot's sound is
/// a cached prompt (else live PCM); `earlier` gives the routes of legs before this one, so a mix
/// already encoded for an earlier leg is shared.
pub fn route(leg: usize, sounding: Sources, bot_cached: bool, earlier: &[(usize, Route)]) -> Route {
    let hears = sounding.without_leg(leg);
    if hears.0 == 0 {
        return Route::Silence;
    }
    if hears == Sources::BOT && bot_cached {
        return Route::BotPacket;
    }
    if let Some(from) = hears.single_leg() {
        return Route::Forward { from };
    }
    for &(_, r) in earlier {
        if let Route::Encode { owner, mix } = r
            && mix == hears
        {
            return Route::Encode { owner, mix };
        }
    }
    Route::Encode {
        owner: leg,
        mix: hears,
    }
}

/// The running sum of every sounding source for one tick.
pub struct MixBus {
    total: [i32; FRAME_SAMPLES],
}

impl Default for MixBus {
    fn default() -> Self {
        MixBus::new()
    }
}

impl MixBus {
    /// A bus holding silence, ready for the tick's first `add`.
    pub fn new() -> MixBus {
        MixBus {
            total: [0; FRAME_SAMPLES],
        }
    }

    /// Empties the bus for a new tick.
    pub fn clear(&mut self) {
        self.total.fill(0);
    }

    /// Adds a source.
    pub fn add(&mut self, frame: &Frame) {
        for (t, &s) in self.total.iter_mut().zip(frame) {
            *t += i32::from(s);
        }
    }

    /// Writes the sum of everything added, minus `own` when given, saturated to 16 bits.
    pub fn write_without(&self, own: Option<&Frame>, out: &mut Frame) {
        match own {
            Some(own) => {
                for ((o, &t), &s) in out.iter_mut().zip(&self.total).zip(own) {
                    *o = (t - i32::from(s)).clamp(i32::from(i16::MIN), i32::from(i16::MAX)) as i16;
                }
            }
            None => {
                for (o, &t) in out.iter_mut().zip(&self.total) {
                    *o = t.clamp(i32::from(i16::MIN), i32::from(i16::MAX)) as i16;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn routes(n: usize, sounding: Sources, bot_cached: bool) -> Vec<Route> {
        let mut done: Vec<(usize, Route)> = Vec::new();
        for leg in 0..n {
            let r = route(leg, sounding, bot_cached, &done);
            done.push((leg, r));
        }
        done.into_iter().map(|(_, r)| r).collect()
    }

    #[test]
    fn a_one_leg_call_hears_the_bot_packet_or_silence() {
        assert_eq!(routes(1, Sources::BOT, true), vec![Route::BotPacket]);
        assert_eq!(routes(1, Sources(1), true), vec![Route::Silence]);
        let live = Sources(Sources::BOT.0 | 1);
        assert_eq!(
            routes(1, live, false),
            vec![Route::Encode {
                owner: 0,
                mix: Sources::BOT
            }]
        );
    }

    #[test]
    fn a_two_leg_call_with_nothing_to_mix_forwards() {
        assert_eq!(
            routes(2, Sources(0b11), true),
            vec![Route::Forward { from: 1 }, Route::Forward { from: 0 }]
        );
        // Leg 1 muted (not sounding): leg 0 hears nobody, leg 1 still hears leg 0.
        assert_eq!(
            routes(2, Sources(0b01), true),
            vec![Route::Silence, Route::Forward { from: 0 }]
        );
    }

    #[test]
    fn legs_hearing_the_same_mix_share_one_encode() {
        // Legs 0 and 1 speak with the bot; legs 2 and 3 are silent and hear the same mix.
        let sounding = Sources(Sources::BOT.0 | 0b0011);
        let r = routes(4, sounding, true);
        assert_eq!(
            r[0],
            Route::Encode {
                owner: 0,
                mix: Sources(Sources::BOT.0 | 0b10)
            }
        );
        assert_eq!(
            r[1],
            Route::Encode {
                owner: 1,
                mix: Sources(Sources::BOT.0 | 0b01)
            }
        );
        assert_eq!(
            r[2],
            Route::Encode {
                owner: 2,
                mix: sounding
            }
        );
        assert_eq!(
            r[3],
            Route::Encode {
                owner: 2,
                mix: sounding
            }
        );
    }

    #[test]
    fn the_sum_saturates_and_excludes_the_listener() {
        let mut bus = MixBus::new();
        let a = [30000i16; FRAME_SAMPLES];
        let b = [10000i16; FRAME_SAMPLES];
        bus.add(&a);
        bus.add(&b);
        let mut out = [0i16; FRAME_SAMPLES];
        bus.write_without(None, &mut out);
        assert_eq!(out[0], i16::MAX);
        bus.write_without(Some(&a), &mut out);
        assert_eq!(out[0], 10000);
        bus.add(&[-32768; FRAME_SAMPLES]);
        bus.add(&[-32768; FRAME_SAMPLES]);
        // 30000 - 65536 after removing b: below the 16-bit range.
        bus.write_without(Some(&b), &mut out);
        assert_eq!(out[0], i16::MIN);
        bus.write_without(Some(&[-32768; FRAME_SAMPLES]), &mut out);
        assert_eq!(out[0], 7232);
    }
}
