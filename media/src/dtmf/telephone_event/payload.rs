//! The RFC 4733 telephone-event payload: 4-byte event blocks, decoded and encoded.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |     event     |E|R| volume    |          duration             |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! A packet may carry several blocks (RFC 4733 §2.5.1.5): they are in order of start time, the
//! packet's RTP timestamp is the start of the first, and each later event starts where the one
//! before it ended (its start plus its duration).

use crate::dtmf::Digit;

/// Bytes in one event block.
pub const EVENT_BLOCK_LEN: usize = 4;

/// The most blocks one packet may carry here. RFC 4733 sets no limit, but real senders pack at
/// most a few; a bound keeps the receiver's work per packet (and its output) small and fixed.
pub const MAX_BLOCKS_PER_PACKET: usize = 8;

/// The loudest and quietest volume a block can state: 0 to 63, meaning 0 to −63 dBm0.
const MAX_VOLUME: u8 = 0x3f;

/// One decoded event block of a telephone-event payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventBlock {
    /// The key this block reports.
    pub digit: Digit,
    /// The E bit: this is a final report of the event, with its whole duration.
    pub end: bool,
    /// The power level of the tone as a positive number: 10 means −10 dBm0 (0 to 63).
    pub volume: u8,
    /// The duration so far, in units of the RTP clock, counted from the event's start.
    pub duration: u16,
}

impl EventBlock {
    /// Decodes one 4-byte block. The R bit is reserved and ignored, as the RFC asks of receivers.
    pub fn decode(bytes: [u8; EVENT_BLOCK_LEN]) -> Result<EventBlock, TelephoneEventError> {
        let digit = Digit::from_event_code(bytes[0]).ok_or(TelephoneEventError::NotDtmf {
            code: bytes[0],
            block: 0,
        })?;
        Ok(EventBlock {
            digit,
            end: bytes[1] & 0x80 != 0,
            volume: bytes[1] & MAX_VOLUME,
            duration: u16::from_be_bytes([bytes[2], bytes[3]]),
        })
    }

    /// Encodes this block; a volume above 63 is clamped to 63 (−63 dBm0), the field's range.
    pub fn encode(&self) -> [u8; EVENT_BLOCK_LEN] {
        let [hi, lo] = self.duration.to_be_bytes();
        let flags = if self.end { 0x80 } else { 0 } | self.volume.min(MAX_VOLUME);
        [self.digit.event_code(), flags, hi, lo]
    }

    /// The tone's level in dBm0 (0 to −63).
    pub fn level_dbm0(&self) -> i8 {
        // volume is at most 63 after decoding, so the negation always fits.
        -(self.volume.min(MAX_VOLUME) as i8)
    }
}

/// The event blocks of one telephone-event payload, validated as a whole before any is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventBlocks {
    blocks: [Option<EventBlock>; MAX_BLOCKS_PER_PACKET],
    len: usize,
}

impl EventBlocks {
    /// Decodes a payload of one or more 4-byte blocks. Every block must report a DTMF key
    /// (event 0–15); a payload that is empty, not a whole number of blocks, or longer than
    /// [`MAX_BLOCKS_PER_PACKET`] blocks is rejected. Nothing is allocated.
    pub fn decode(payload: &[u8]) -> Result<EventBlocks, TelephoneEventError> {
        if payload.is_empty() || !payload.len().is_multiple_of(EVENT_BLOCK_LEN) {
            return Err(TelephoneEventError::BadLength { len: payload.len() });
        }
        let count = payload.len() / EVENT_BLOCK_LEN;
        if count > MAX_BLOCKS_PER_PACKET {
            return Err(TelephoneEventError::TooManyBlocks { blocks: count });
        }
        let mut blocks = [None; MAX_BLOCKS_PER_PACKET];
        for (index, chunk) in payload.chunks_exact(EVENT_BLOCK_LEN).enumerate() {
            let bytes = [chunk[0], chunk[1], chunk[2], chunk[3]];
            let block = EventBlock::decode(bytes).map_err(|err| match err {
                TelephoneEventError::NotDtmf { code, .. } => {
                    TelephoneEventError::NotDtmf { code, block: index }
                }
                other => other,
            })?;
            blocks[index] = Some(block);
        }
        Ok(EventBlocks { blocks, len: count })
    }

    /// How many blocks the payload carried (at least one).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Always false: a decoded payload has at least one block.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The blocks in payload order, oldest event first.
    pub fn iter(&self) -> impl Iterator<Item = EventBlock> + '_ {
        self.blocks[..self.len].iter().flatten().copied()
    }

    /// The last block: the event the packet is mainly about (the newest one).
    pub fn last(&self) -> EventBlock {
        // decode() never builds an empty set and fills indices 0..len.
        self.blocks[self.len - 1].expect("a decoded payload has at least one block")
    }
}

/// Writes `blocks` as a payload into `out` and returns the number of bytes written.
pub fn encode_payload(blocks: &[EventBlock], out: &mut [u8]) -> Result<usize, TelephoneEventError> {
    if blocks.is_empty() || blocks.len() > MAX_BLOCKS_PER_PACKET {
        return Err(TelephoneEventError::TooManyBlocks {
            blocks: blocks.len(),
        });
    }
    let needed = blocks.len() * EVENT_BLOCK_LEN;
    if out.len() < needed {
        return Err(TelephoneEventError::BufferTooSmall {
            needed,
            available: out.len(),
        });
    }
    for (block, chunk) in blocks.iter().zip(out.chunks_exact_mut(EVENT_BLOCK_LEN)) {
        chunk.copy_from_slice(&block.encode());
    }
    Ok(needed)
}

/// A telephone-event payload or packet that cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TelephoneEventError {
    /// The payload is empty or not a whole number of 4-byte event blocks.
    #[error("telephone-event payload is {len} bytes; it must be one or more 4-byte event blocks")]
    BadLength {
        /// The payload length in bytes.
        len: usize,
    },
    /// The payload carries more event blocks than this receiver handles.
    #[error(
        "telephone-event payload has {blocks} event blocks; between 1 and {MAX_BLOCKS_PER_PACKET} are allowed"
    )]
    TooManyBlocks {
        /// How many 4-byte event blocks the payload holds.
        blocks: usize,
    },
    /// An event block reports an event that is not a DTMF key.
    #[error(
        "telephone-event block {block} has event code {code}, which is not a DTMF key; allowed are 0-15"
    )]
    NotDtmf {
        /// The block's event code (16 and above are other RFC 4734 events, such as flash).
        code: u8,
        /// The index of the block in the payload, from 0.
        block: usize,
    },
    /// The output buffer cannot hold the encoded payload.
    #[error("telephone-event payload needs {needed} bytes but the buffer has {available}")]
    BufferTooSmall {
        /// Bytes the payload needs.
        needed: usize,
        /// Bytes the buffer has.
        available: usize,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_block_decodes_each_field() {
        // Event 5, E bit set, R bit set (must be ignored), volume 10, duration 0x0320 (800).
        let block = EventBlock::decode([5, 0x80 | 0x40 | 10, 0x03, 0x20]).unwrap();
        assert_eq!(
            block,
            EventBlock {
                digit: Digit::D5,
                end: true,
                volume: 10,
                duration: 800
            }
        );
        assert_eq!(block.level_dbm0(), -10);
    }

    #[test]
    fn every_key_round_trips_through_the_wire_format() {
        for code in 0..16u8 {
            let block = EventBlock {
                digit: Digit::from_event_code(code).unwrap(),
                end: code % 2 == 0,
                volume: code * 3,
                duration: 0xffff - u16::from(code),
            };
            assert_eq!(EventBlock::decode(block.encode()).unwrap(), block);
        }
    }

    #[test]
    fn volume_beyond_the_field_is_clamped_on_encode() {
        let block = EventBlock {
            digit: Digit::D1,
            end: false,
            volume: 200,
            duration: 1,
        };
        assert_eq!(block.encode()[1], 63);
    }

    #[test]
    fn short_and_ragged_payloads_are_errors() {
        for len in [0usize, 1, 2, 3, 5, 7] {
            let payload = vec![1u8; len];
            assert_eq!(
                EventBlocks::decode(&payload),
                Err(TelephoneEventError::BadLength { len })
            );
        }
        assert_eq!(
            EventBlocks::decode(&[1, 0, 0]).unwrap_err().to_string(),
            "telephone-event payload is 3 bytes; it must be one or more 4-byte event blocks"
        );
    }

    #[test]
    fn non_dtmf_event_codes_are_errors_naming_the_block() {
        // Event 16 (flash) in the second block.
        let payload = [1, 0x80, 0, 160, 16, 0, 0, 160];
        let err = EventBlocks::decode(&payload).unwrap_err();
        assert_eq!(err, TelephoneEventError::NotDtmf { code: 16, block: 1 });
        assert_eq!(
            err.to_string(),
            "telephone-event block 1 has event code 16, which is not a DTMF key; allowed are 0-15"
        );
        for code in [16u8, 32, 255] {
            assert!(EventBlocks::decode(&[code, 0, 0, 0]).is_err());
        }
    }

    #[test]
    fn too_many_blocks_is_an_error() {
        let payload = vec![0u8; EVENT_BLOCK_LEN * (MAX_BLOCKS_PER_PACKET + 1)];
        assert_eq!(
            EventBlocks::decode(&payload),
            Err(TelephoneEventError::TooManyBlocks {
                blocks: MAX_BLOCKS_PER_PACKET + 1
            })
        );
    }

    #[test]
    fn multi_block_payloads_decode_in_order_and_encode_back() {
        let blocks = [
            EventBlock {
                digit: Digit::D1,
                end: true,
                volume: 10,
                duration: 400,
            },
            EventBlock {
                digit: Digit::Pound,
                end: false,
                volume: 12,
                duration: 160,
            },
        ];
        let mut buf = [0u8; 16];
        let len = encode_payload(&blocks, &mut buf).unwrap();
        assert_eq!(len, 8);
        let decoded = EventBlocks::decode(&buf[..len]).unwrap();
        assert_eq!(decoded.len(), 2);
        assert!(!decoded.is_empty());
        assert_eq!(decoded.iter().collect::<Vec<_>>(), blocks);
        assert_eq!(decoded.last(), blocks[1]);
        assert_eq!(
            encode_payload(&blocks, &mut buf[..7]),
            Err(TelephoneEventError::BufferTooSmall {
                needed: 8,
                available: 7
            })
        );
        assert!(encode_payload(&[], &mut buf).is_err());
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        // A fixed-seed xorshift walk over lengths and contents: decode must return, not panic.
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..20_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let len = (state % 40) as usize;
            let bytes: Vec<u8> = (0..len).map(|i| (state >> (i % 8 * 8)) as u8).collect();
            let _ = EventBlocks::decode(&bytes);
        }
    }
}
