//! The flow language of built-in bots: `[[bots]]` and `[[analysis]]` tables in the server's TOML
//! configuration, checked at start-up with `file:line:column` errors. The README's "Built-in
//! bots" section is its reference; `parse_tests.rs` holds an example of every rule.

pub mod expr;
pub mod hours;
pub mod model;
pub mod parse;
mod raw;
pub mod source;
pub mod vars;

pub use model::{
    Action, AnalysisKind, AnalysisService, BotDefinition, ClosedAction, FlowConfig, PartyRef,
    Prompt, State, StateId,
};
pub use parse::parse;
pub use source::{FlowError, FlowErrors, Location, SourceText};

/// Reads and checks the flows of the configuration file at `path`.
pub fn load_file(path: &std::path::Path) -> Result<FlowConfig, FlowErrors> {
    let name = path.display().to_string();
    match std::fs::read_to_string(path) {
        Ok(text) => parse(&SourceText::new(name, text)),
        Err(error) => Err(FlowErrors(vec![FlowError {
            at: Location {
                file: name,
                line: 1,
                column: 1,
            },
            reason: format!("cannot read the file: {error}"),
        }])),
    }
}

#[cfg(test)]
mod parse_tests;
