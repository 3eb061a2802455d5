//! Before the server starts: which flows run (the configuration file's `[[bots]]`, or the demo
//! Front Desk when the demo directory is seeded), the demo prompts on disk, and the checks that
//! need the rest of the configuration — tenants, parties and prompt files — each reported with
//! the file and line that named it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::flow::{self, FlowConfig, FlowError, FlowErrors, Location, PartyRef, SourceText};
use crate::config::Config;
use crate::store::demo::{DEMO_ALICE_ID, DEMO_APP_ID, DEMO_BOB_ID, DEMO_TENANT_ID};

/// The demo Front Desk's flow, built into the binary.
pub const DEMO_FLOW: &str = include_str!("../../examples/demo.toml");
/// The name demo-flow errors carry.
pub const DEMO_FLOW_NAME: &str = "examples/demo.toml (built in)";
/// Folder inside the data directory the demo prompts are written to.
pub const DEMO_PROMPTS_DIR: &str = "demo-prompts";

/// The demo prompts (made by `scripts/demo-prompts`), built into the binary so that
/// `switchboard serve` works from any directory.
pub const DEMO_PROMPTS: [(&str, &[u8]); 13] = [
    (
        "demo-welcome",
        include_bytes!("../../assets/prompts/demo-welcome.wav"),
    ),
    (
        "demo-menu",
        include_bytes!("../../assets/prompts/demo-menu.wav"),
    ),
    (
        "demo-invalid",
        include_bytes!("../../assets/prompts/demo-invalid.wav"),
    ),
    (
        "demo-no-input",
        include_bytes!("../../assets/prompts/demo-no-input.wav"),
    ),
    (
        "demo-connecting",
        include_bytes!("../../assets/prompts/demo-connecting.wav"),
    ),
    (
        "demo-no-agent",
        include_bytes!("../../assets/prompts/demo-no-agent.wav"),
    ),
    (
        "demo-leave-message",
        include_bytes!("../../assets/prompts/demo-leave-message.wav"),
    ),
    (
        "demo-message-urgent",
        include_bytes!("../../assets/prompts/demo-message-urgent.wav"),
    ),
    (
        "demo-message-short",
        include_bytes!("../../assets/prompts/demo-message-short.wav"),
    ),
    (
        "demo-message-thanks",
        include_bytes!("../../assets/prompts/demo-message-thanks.wav"),
    ),
    (
        "demo-reminder-set",
        include_bytes!("../../assets/prompts/demo-reminder-set.wav"),
    ),
    (
        "demo-reminder",
        include_bytes!("../../assets/prompts/demo-reminder.wav"),
    ),
    (
        "demo-goodbye",
        include_bytes!("../../assets/prompts/demo-goodbye.wav"),
    ),
];

/// Whether `config` seeds the demo directory (the same rule as the store's seeding).
pub fn seeds_demo(config: &Config) -> bool {
    config.demo && config.apps.is_empty()
}

/// Reads and checks the flows `switchboard serve` will run; `None` when no built-in bot runs.
///
/// With no `[[bots]]` in `file` and the demo directory seeded, the demo Front Desk runs, and its
/// prompts are written to `<data_dir>/demo-prompts` (used as `media.prompts.dir` unless one is
/// configured). Every problem is returned at once, each with file, line and reason.
pub fn prepare(
    config: &mut Config,
    file: Option<&Path>,
) -> Result<Option<Arc<FlowConfig>>, FlowErrors> {
    let mut flows = match file {
        Some(path) => flow::load_file(path)?,
        None => FlowConfig::default(),
    };
    if flows.bots.is_empty() && seeds_demo(config) {
        flows = flow::parse(&SourceText::new(DEMO_FLOW_NAME, DEMO_FLOW))?;
        if config.media.prompts.dir.as_os_str().is_empty() {
            let dir = config.data_dir.join(DEMO_PROMPTS_DIR);
            write_demo_prompts(&dir).map_err(|reason| {
                FlowErrors(vec![FlowError {
                    at: flows.bots[0].origin.clone(),
                    reason,
                }])
            })?;
            config.media.prompts.dir = dir;
        }
    }
    let errors = check_against_config(&flows, config);
    if !errors.is_empty() {
        return Err(FlowErrors(errors));
    }
    Ok((!flows.bots.is_empty()).then(|| Arc::new(flows)))
}

fn write_demo_prompts(dir: &Path) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| {
        format!(
            "cannot create the demo prompts folder {}: {e}",
            dir.display()
        )
    })?;
    for (name, bytes) in DEMO_PROMPTS {
        let path = dir.join(format!("{name}.wav"));
        std::fs::write(&path, bytes)
            .map_err(|e| format!("cannot write the demo prompt {}: {e}", path.display()))?;
    }
    Ok(())
}

/// Tenants, parties and prompt files the flows name, checked against the configuration.
fn check_against_config(flows: &FlowConfig, config: &Config) -> Vec<FlowError> {
    let demo = seeds_demo(config);
    let mut tenants: Vec<&str> = config.tenants.iter().map(|t| t.id.as_str()).collect();
    let mut users: Vec<&str> = config.users.iter().map(|u| u.id.as_str()).collect();
    let mut apps: Vec<&str> = config.apps.iter().map(|a| a.id.as_str()).collect();
    if demo {
        tenants.push(DEMO_TENANT_ID);
        users.extend([DEMO_ALICE_ID, DEMO_BOB_ID]);
        apps.push(DEMO_APP_ID);
    }
    apps.extend(flows.bots.iter().map(|b| b.app_id.as_str()));
    let mut errors = Vec::new();
    let error = |at: &Location, reason: String| FlowError {
        at: at.clone(),
        reason,
    };
    for bot in &flows.bots {
        if !tenants.contains(&bot.tenant.as_str()) {
            errors.push(error(
                &bot.origin,
                format!(
                    "bot '{}' names tenant '{}', which is not in [[tenants]]{}",
                    bot.name,
                    bot.tenant,
                    if demo { " (nor the demo tenant)" } else { "" }
                ),
            ));
        }
        if apps.iter().filter(|a| **a == bot.app_id).count() > 1 {
            errors.push(error(
                &bot.origin,
                format!(
                    "bot id '{}' is also an [[apps]] entry; a built-in bot is its own application",
                    bot.app_id
                ),
            ));
        }
        for (party, at) in &bot.parties {
            let (known, table) = match party {
                PartyRef::User(id) => (users.contains(&id.as_str()), "[[users]]"),
                PartyRef::App(id) => (apps.contains(&id.as_str()), "[[apps]] or [[bots]]"),
            };
            // Block lists may name anyone: a caller does not have to be in this directory.
            if !known && !bot.rules.block.iter().any(|b| b == party.id()) {
                errors.push(error(at, format!("'{}' is not in {table}", party.id())));
            }
        }
        let dir = &config.media.prompts.dir;
        for (resource, at) in &bot.resource_prompts {
            if dir.as_os_str().is_empty() {
                errors.push(error(
                    at,
                    format!(
                        "prompt '{resource}' is a file name, but media.prompts.dir is not set; set it or give an http(s) URL"
                    ),
                ));
            } else if !prompt_file(dir, resource).is_file() {
                errors.push(error(
                    at,
                    format!(
                        "prompt '{resource}' is neither {0}/{resource} nor {0}/{resource}.wav",
                        dir.display()
                    ),
                ));
            }
        }
    }
    errors.sort_by_key(|e| (e.at.file.clone(), e.at.line, e.at.column));
    errors
}

fn prompt_file(dir: &Path, resource: &str) -> PathBuf {
    let exact = dir.join(resource);
    if exact.is_file() {
        exact
    } else {
        dir.join(format!("{resource}.wav"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_flow_runs_with_its_prompts_when_the_demo_is_seeded() {
        let data = tempfile::tempdir().unwrap();
        let mut config = Config {
            data_dir: data.path().to_owned(),
            ..Config::default()
        };
        let flows = prepare(&mut config, None)
            .unwrap_or_else(|e| panic!("{e}"))
            .expect("demo flows");
        assert_eq!(flows.bots[0].name, "Front Desk");
        assert_eq!(config.media.prompts.dir, data.path().join(DEMO_PROMPTS_DIR));
        assert!(data.path().join("demo-prompts/demo-welcome.wav").is_file());
    }

    #[test]
    fn unknown_tenants_parties_and_prompt_files_are_located() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("hello.wav"), b"RIFF").unwrap();
        let file = dir.path().join("bots.toml");
        let text = format!(
            r#"demo = false
[media.prompts]
dir = "{}"

[[bots]]
id = "bot-1"
name = "Desk"
tenant = "nowhere"
start = "a"

[bots.prompts]
hello = "hello"
missing = "missing"

[bots.states.a]
play = ["hello", "missing"]
transfer = ["user:nobody"]
on_failure = "b"

[bots.states.b]
hangup = true
"#,
            dir.path().display()
        );
        std::fs::write(&file, &text).unwrap();
        let mut config = Config::load(Some(&file)).unwrap();
        let errors = prepare(&mut config, Some(&file)).unwrap_err().0;
        let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(errors.len(), 3, "{lines:#?}");
        assert!(
            lines[0].contains(":5:") && lines[0].contains("tenant 'nowhere'"),
            "{lines:#?}"
        );
        assert!(
            lines[1].contains(":16:") && lines[1].contains("prompt 'missing'"),
            "{lines:#?}"
        );
        assert!(
            lines[2].contains(":17:") && lines[2].contains("'nobody' is not in [[users]]"),
            "{lines:#?}"
        );
    }
}
