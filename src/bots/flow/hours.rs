//! Office hours: weekly windows such as `mon-fri 09:00-17:00`, read in the bot's time zone.
//!
//! A window is days then a time range. Days: `mon` … `sun`, ranges (`mon-fri`, `fri-mon`), lists
//! (`mon,wed,fri`) or `daily`. Times are `HH:MM`, 24-hour; `24:00` may end a range. A range whose
//! end is not after its start runs past midnight (`fri 22:00-02:00` is open Saturday until 2).

use std::fmt;

/// The days of the week, Monday first (ISO 8601).
pub const WEEKDAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// One opening window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    /// Days it opens on, Monday = 0.
    days: [bool; 7],
    /// Opening minute of the day.
    start: u16,
    /// Closing minute of the day (after `start`, or on the next day when not).
    end: u16,
}

/// A week of opening windows.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OfficeHours {
    windows: Vec<Window>,
}

/// A local moment: the day of the week (Monday = 0) and the minute of the day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalMoment {
    /// Monday = 0 … Sunday = 6.
    pub weekday: u8,
    /// 0 … 1439.
    pub minute: u16,
}

impl LocalMoment {
    /// The moment of a zoned time.
    pub fn of(time: &jiff::ZonedDateTime) -> LocalMoment {
        let weekday = u8::try_from(time.weekday().to_monday_zero_offset()).unwrap_or(0);
        let minute =
            u16::try_from(i32::from(time.hour()) * 60 + i32::from(time.minute())).unwrap_or(0);
        LocalMoment { weekday, minute }
    }
}

impl fmt::Display for LocalMoment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {:02}:{:02}",
            WEEKDAYS[usize::from(self.weekday % 7)],
            self.minute / 60,
            self.minute % 60
        )
    }
}

impl OfficeHours {
    /// Parses every window; the error names the window's index and what was wrong.
    pub fn parse(windows: &[&str]) -> Result<OfficeHours, (usize, String)> {
        let windows = windows
            .iter()
            .enumerate()
            .map(|(i, text)| Window::parse(text).map_err(|reason| (i, reason)))
            .collect::<Result<_, _>>()?;
        Ok(OfficeHours { windows })
    }

    /// Whether the office is open at `at`.
    pub fn is_open(&self, at: LocalMoment) -> bool {
        self.windows.iter().any(|w| w.contains(at))
    }
}

impl Window {
    fn parse(text: &str) -> Result<Window, String> {
        let mut parts = text.split_whitespace();
        let (Some(days), Some(times), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(format!(
                "'{text}' is not a window; write days then times, e.g. 'mon-fri 09:00-17:00'"
            ));
        };
        let days = parse_days(days)?;
        let (start, end) = times.split_once('-').ok_or_else(|| {
            format!("'{times}' is not a time range; write HH:MM-HH:MM, e.g. 09:00-17:00")
        })?;
        let start = parse_time(start, false)?;
        let end = parse_time(end, true)?;
        if start == end {
            return Err(format!(
                "'{times}' opens and closes at the same minute; for a whole day write 00:00-24:00"
            ));
        }
        Ok(Window { days, start, end })
    }

    fn contains(&self, at: LocalMoment) -> bool {
        let today = usize::from(at.weekday % 7);
        let yesterday = (today + 6) % 7;
        if self.start < self.end {
            self.days[today] && at.minute >= self.start && at.minute < self.end
        } else {
            (self.days[today] && at.minute >= self.start)
                || (self.days[yesterday] && at.minute < self.end)
        }
    }
}

fn day_index(name: &str) -> Result<usize, String> {
    WEEKDAYS
        .iter()
        .position(|d| d.eq_ignore_ascii_case(name))
        .ok_or_else(|| {
            format!("'{name}' is not a day; allowed: mon, tue, wed, thu, fri, sat, sun, daily")
        })
}

fn parse_days(text: &str) -> Result<[bool; 7], String> {
    let mut days = [false; 7];
    if text.eq_ignore_ascii_case("daily") {
        return Ok([true; 7]);
    }
    for part in text.split(',') {
        match part.split_once('-') {
            Some((from, to)) => {
                let (from, to) = (day_index(from)?, day_index(to)?);
                let mut day = from;
                loop {
                    days[day] = true;
                    if day == to {
                        break;
                    }
                    day = (day + 1) % 7;
                }
            }
            None => days[day_index(part)?] = true,
        }
    }
    Ok(days)
}

fn parse_time(text: &str, may_be_24: bool) -> Result<u16, String> {
    let bad = || {
        format!("'{text}' is not a time; write HH:MM from 00:00 to 23:59 (24:00 to end a range)")
    };
    let (h, m) = text.split_once(':').ok_or_else(bad)?;
    if h.len() != 2 || m.len() != 2 {
        return Err(bad());
    }
    let (h, m): (u16, u16) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    match (h, m) {
        (24, 0) if may_be_24 => Ok(1440),
        (0..=23, 0..=59) => Ok(h * 60 + m),
        _ => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(day: &str, time: &str) -> LocalMoment {
        LocalMoment {
            weekday: u8::try_from(day_index(day).unwrap()).unwrap(),
            minute: parse_time(time, false).unwrap(),
        }
    }

    #[test]
    fn weekday_windows_open_and_close_on_the_minute() {
        let hours = OfficeHours::parse(&["mon-fri 09:00-17:00", "sat 10:00-12:00"]).unwrap();
        assert!(hours.is_open(at("mon", "09:00")));
        assert!(hours.is_open(at("fri", "16:59")));
        assert!(!hours.is_open(at("fri", "17:00")));
        assert!(!hours.is_open(at("tue", "08:59")));
        assert!(hours.is_open(at("sat", "11:00")));
        assert!(!hours.is_open(at("sun", "11:00")));
    }

    #[test]
    fn overnight_wrapping_lists_and_daily() {
        let hours = OfficeHours::parse(&["fri-mon 22:00-02:00"]).unwrap();
        assert!(hours.is_open(at("fri", "23:00")));
        assert!(hours.is_open(at("sat", "01:59")));
        assert!(
            hours.is_open(at("tue", "01:00")),
            "monday's night runs into tuesday"
        );
        assert!(!hours.is_open(at("wed", "01:00")));
        assert!(!hours.is_open(at("tue", "23:00")));
        let hours = OfficeHours::parse(&["mon,wed 00:00-24:00"]).unwrap();
        assert!(hours.is_open(at("wed", "23:59")));
        assert!(!hours.is_open(at("tue", "12:00")));
        assert!(
            OfficeHours::parse(&["daily 08:00-09:00"])
                .unwrap()
                .is_open(at("sun", "08:30"))
        );
        assert!(
            !OfficeHours::default().is_open(at("mon", "12:00")),
            "no windows: always closed"
        );
    }

    #[test]
    fn bad_windows_say_what_is_allowed() {
        let (index, reason) =
            OfficeHours::parse(&["mon 09:00-17:00", "funday 09:00-10:00"]).unwrap_err();
        assert_eq!(index, 1);
        assert!(reason.contains("'funday' is not a day"), "{reason}");
        let (_, reason) = OfficeHours::parse(&["mon 9-17"]).unwrap_err();
        assert!(reason.contains("'9' is not a time"), "{reason}");
        let (_, reason) = OfficeHours::parse(&["mon 25:00-26:00"]).unwrap_err();
        assert!(reason.contains("'25:00'"), "{reason}");
        let (_, reason) = OfficeHours::parse(&["mon-fri"]).unwrap_err();
        assert!(reason.contains("days then times"), "{reason}");
        let (_, reason) = OfficeHours::parse(&["mon 10:00-10:00"]).unwrap_err();
        assert!(reason.contains("same minute"), "{reason}");
    }

    #[test]
    fn local_moment_of_a_zoned_time() {
        let zoned: jiff::ZonedDateTime =
            "2025-03-07T16:45:00+01:00[Europe/Berlin]".parse().unwrap();
        let moment = LocalMoment::of(&zoned);
        assert_eq!(moment.to_string(), "fri 16:45");
    }
}
