//! Where a flow came from: the file's text, turning byte spans into `file:line:column`, and the
//! error type every flow check reports with.

use std::fmt;
use std::ops::Range;

/// A place in a configuration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The file as given (or a name for embedded text, such as the demo flow).
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

/// One thing wrong with a flow: where, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowError {
    /// Where in the file.
    pub at: Location,
    /// What is wrong and what is allowed.
    pub reason: String,
}

impl fmt::Display for FlowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.at, self.reason)
    }
}

/// Every error found in one file, in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowErrors(pub Vec<FlowError>);

impl fmt::Display for FlowErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, error) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for FlowErrors {}

/// A configuration file's text with its line starts, for locating spans.
#[derive(Debug, Clone)]
pub struct SourceText {
    name: String,
    text: String,
    line_starts: Vec<usize>,
}

impl SourceText {
    /// Wraps `text`, read from `name`.
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> SourceText {
        let text = text.into();
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        SourceText {
            name: name.into(),
            text,
            line_starts,
        }
    }

    /// The whole configuration file, as read.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The file's name as given (the path in `--config`), used in `file:line:column` errors.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The location of byte `offset`.
    pub fn locate(&self, offset: usize) -> Location {
        let offset = offset.min(self.text.len());
        let line = self.line_starts.partition_point(|start| *start <= offset);
        let start = self.line_starts[line.saturating_sub(1)];
        let column = self
            .text
            .get(start..offset)
            .map_or(1, |prefix| prefix.chars().count() + 1);
        Location {
            file: self.name.clone(),
            line: line.max(1),
            column,
        }
    }

    /// An error at the start of `span`.
    pub fn error(&self, span: &Range<usize>, reason: impl Into<String>) -> FlowError {
        FlowError {
            at: self.locate(span.start),
            reason: reason.into(),
        }
    }

    /// An error at byte `offset` of a quoted string value whose span (quotes included) is
    /// `span`: the column points at the offending character, not the opening quote. (Escapes in
    /// basic strings shift it by their extra characters; conditions rarely hold any.)
    pub fn error_inside_string(
        &self,
        span: &Range<usize>,
        offset: usize,
        reason: impl Into<String>,
    ) -> FlowError {
        let raw = self.text.get(span.clone()).unwrap_or("");
        let quote = if raw.starts_with("'''") || raw.starts_with("\"\"\"") {
            3
        } else {
            1
        };
        FlowError {
            at: self.locate(span.start + quote + offset),
            reason: reason.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_become_lines_and_columns() {
        let source = SourceText::new("bots.toml", "a = 1\n[x]\nname = 'é-b'\n");
        assert_eq!(source.locate(0).to_string(), "bots.toml:1:1");
        assert_eq!(source.locate(6).to_string(), "bots.toml:2:1");
        assert_eq!(source.locate(17).to_string(), "bots.toml:3:8");
        let value = 17..24; // 'é-b' with quotes
        let error = source.error_inside_string(&value, 3, "here");
        assert_eq!(error.to_string(), "bots.toml:3:11: here");
    }
}
