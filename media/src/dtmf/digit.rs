use std::fmt;

/// One of the sixteen DTMF keys.
///
/// The discriminant is the RFC 4733 telephone-event code, so conversion to and from the wire is a
/// cast, not a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum Digit {
    /// Key `0`.
    D0 = 0,
    /// Key `1`.
    D1 = 1,
    /// Key `2`.
    D2 = 2,
    /// Key `3`.
    D3 = 3,
    /// Key `4`.
    D4 = 4,
    /// Key `5`.
    D5 = 5,
    /// Key `6`.
    D6 = 6,
    /// Key `7`.
    D7 = 7,
    /// Key `8`.
    D8 = 8,
    /// Key `9`.
    D9 = 9,
    /// Key `*`.
    Star = 10,
    /// Key `#`.
    Pound = 11,
    /// Key `A`.
    A = 12,
    /// Key `B`.
    B = 13,
    /// Key `C`.
    C = 14,
    /// Key `D`.
    D = 15,
}

/// The low-group (row) frequencies in Hz, top row first.
pub const LOW_GROUP_HZ: [f32; 4] = [697.0, 770.0, 852.0, 941.0];
/// The high-group (column) frequencies in Hz, left column first.
pub const HIGH_GROUP_HZ: [f32; 4] = [1209.0, 1336.0, 1477.0, 1633.0];

/// The keypad laid out by row and column, so `KEYPAD[row][col]` is the key whose tones are
/// `LOW_GROUP_HZ[row]` and `HIGH_GROUP_HZ[col]`.
const KEYPAD: [[Digit; 4]; 4] = [
    [Digit::D1, Digit::D2, Digit::D3, Digit::A],
    [Digit::D4, Digit::D5, Digit::D6, Digit::B],
    [Digit::D7, Digit::D8, Digit::D9, Digit::C],
    [Digit::Star, Digit::D0, Digit::Pound, Digit::D],
];

/// All sixteen keys in RFC 4733 event-code order.
pub const ALL_DIGITS: [Digit; 16] = [
    Digit::D0,
    Digit::D1,
    Digit::D2,
    Digit::D3,
    Digit::D4,
    Digit::D5,
    Digit::D6,
    Digit::D7,
    Digit::D8,
    Digit::D9,
    Digit::Star,
    Digit::Pound,
    Digit::A,
    Digit::B,
    Digit::C,
    Digit::D,
];

impl Digit {
    /// The key for an RFC 4733 telephone-event code (0–15), or `None` for any other event.
    pub fn from_event_code(code: u8) -> Option<Digit> {
        ALL_DIGITS.get(usize::from(code)).copied()
    }

    /// The RFC 4733 telephone-event code (0–15).
    pub fn event_code(self) -> u8 {
        self as u8
    }

    /// The key at a keypad position: `row` indexes [`LOW_GROUP_HZ`], `col` indexes [`HIGH_GROUP_HZ`].
    #[inline]
    pub fn from_position(row: usize, col: usize) -> Option<Digit> {
        KEYPAD.get(row)?.get(col).copied()
    }

    /// The keypad position `(row, col)` of this key.
    pub fn position(self) -> (usize, usize) {
        for (row, keys) in KEYPAD.iter().enumerate() {
            if let Some(col) = keys.iter().position(|&k| k == self) {
                return (row, col);
            }
        }
        unreachable!("every Digit variant is on the keypad")
    }

    /// The nominal `(low, high)` tone pair in Hz.
    pub fn frequencies(self) -> (f32, f32) {
        let (row, col) = self.position();
        (LOW_GROUP_HZ[row], HIGH_GROUP_HZ[col])
    }

    /// The key as printed on the keypad: `0`–`9`, `*`, `#`, `A`–`D`.
    pub fn as_char(self) -> char {
        b"0123456789*#ABCD"[self as usize] as char
    }

    /// The key for a keypad character; `a`–`d` are accepted as `A`–`D`.
    pub fn from_char(c: char) -> Option<Digit> {
        let index = "0123456789*#ABCD".find(c.to_ascii_uppercase())?;
        ALL_DIGITS.get(index).copied()
    }

    /// Parses a string of keys such as `"123#"`; spaces and commas between keys are ignored.
    pub fn parse_sequence(s: &str) -> Result<Vec<Digit>, DigitParseError> {
        s.chars()
            .filter(|c| !c.is_whitespace() && *c != ',')
            .map(|c| Digit::from_char(c).ok_or(DigitParseError { found: c }))
            .collect()
    }
}

impl fmt::Display for Digit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.as_char())
    }
}

/// A character that is not a DTMF key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{found}' is not a DTMF key; allowed are 0-9, *, #, A-D")]
pub struct DigitParseError {
    /// The offending character.
    pub found: char,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_codes_round_trip_for_every_key() {
        for code in 0..16u8 {
            let digit = Digit::from_event_code(code).unwrap();
            assert_eq!(digit.event_code(), code);
        }
        assert_eq!(Digit::from_event_code(16), None);
    }

    #[test]
    fn keypad_positions_match_the_standard_frequencies() {
        assert_eq!(Digit::D1.frequencies(), (697.0, 1209.0));
        assert_eq!(Digit::D0.frequencies(), (941.0, 1336.0));
        assert_eq!(Digit::Pound.frequencies(), (941.0, 1477.0));
        assert_eq!(Digit::D.frequencies(), (941.0, 1633.0));
        for d in ALL_DIGITS {
            let (row, col) = d.position();
            assert_eq!(Digit::from_position(row, col), Some(d));
        }
    }

    #[test]
    fn characters_round_trip_and_bad_keys_are_named() {
        for d in ALL_DIGITS {
            assert_eq!(Digit::from_char(d.as_char()), Some(d));
        }
        assert_eq!(Digit::from_char('a'), Some(Digit::A));
        assert_eq!(
            Digit::parse_sequence("1 2, 3#").unwrap(),
            vec![Digit::D1, Digit::D2, Digit::D3, Digit::Pound]
        );
        assert_eq!(
            Digit::parse_sequence("12x").unwrap_err().to_string(),
            "'x' is not a DTMF key; allowed are 0-9, *, #, A-D"
        );
    }
}
