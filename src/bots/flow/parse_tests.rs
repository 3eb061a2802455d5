//! The flow parser: the demo flow and a full example parse; each rule's violation is reported
//! at the right line and column with a reason that says what is allowed.

use super::model::{Action, ClosedAction, PartyRef, Prompt, RejectReason};
use super::{FlowConfig, SourceText, parse};

const HEAD: &str = r#"
[[bots]]
id = "bot-1"
name = "Test Bot"
tenant = "t-1"
start = "start"
"#;

fn parse_text(text: &str) -> Result<FlowConfig, Vec<String>> {
    parse(&SourceText::new("bots.toml", text))
        .map_err(|errors| errors.0.iter().map(ToString::to_string).collect())
}

fn errors_of(body: &str) -> Vec<String> {
    match parse_text(&format!("{HEAD}{body}")) {
        Ok(_) => panic!("expected errors for:\n{body}"),
        Err(errors) => errors,
    }
}

/// The line (1-based) of the first line of `needle` in `HEAD + body`.
fn line_of(body: &str, needle: &str) -> usize {
    let text = format!("{HEAD}{body}");
    let at = text
        .find(needle)
        .unwrap_or_else(|| panic!("{needle} not in text"));
    text[..at].matches('\n').count() + 1
}

#[test]
fn the_demo_flow_parses() {
    let config = parse(&SourceText::new(
        "examples/demo.toml",
        include_str!("../../../examples/demo.toml"),
    ))
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(config.bots.len(), 1);
    assert_eq!(config.analysis.len(), 1);
    let bot = &config.bots[0];
    assert_eq!(bot.name, "Front Desk");
    let flow = &bot.flow;
    assert_eq!(flow.states[flow.start].name, "welcome");
    let menu = &flow.states[flow.state_named("menu").unwrap()];
    let Action::Menu(spec) = &menu.action else {
        panic!("menu state holds {:?}", menu.action)
    };
    let keys: Vec<(char, &str)> = spec
        .choices
        .iter()
        .map(|(k, s)| (*k, flow.states[*s].name.as_str()))
        .collect();
    assert_eq!(keys, [('1', "agent"), ('2', "message"), ('3', "reminder")]);
    assert_eq!(spec.input.retries, 2);
    assert_eq!(menu.play, [Prompt::Resource("demo-menu".into())]);
    let agent = &flow.states[flow.state_named("agent").unwrap()];
    assert!(matches!(&agent.action, Action::Transfer(t) if t.len() == 2));
    assert_eq!(
        flow.states[agent.on_failure.unwrap()].name,
        "voicemail",
        "no agent answering falls back to the voicemail-style recording"
    );
    assert!(
        bot.resource_prompts
            .iter()
            .any(|(p, at)| p == "demo-welcome" && at.line > 1)
    );
}

#[test]
fn a_full_example_parses_with_rules_and_every_action() {
    let body = r##"
timezone = "Europe/Berlin"
[bots.prompts]
hello = "hello"
remote = "https://prompts.example.com/menu.wav"
[bots.rules]
block = ["spammer", "app:robocaller"]
block_reason = "busy"
hours = ["mon-fri 09:00-17:00"]
closed = { redirect = ["user:night-desk"], timeout_secs = 20 }
[bots.states.start]
set = { greeting = "hi {caller.name}", tries = 0 }
play = ["hello", "remote"]
answer = true
next = "menu"
[bots.states.menu]
menu = { "1" = "collect", "#" = "bye", "a" = "reject" }
[bots.states.collect]
collect = { max_digits = 4, end_key = "#" }
timeout_secs = 3
branch = [{ if = "digits == '1234' and greeting != ''", goto = "record" }]
next = "redirect"
on_failure = "bye"
[bots.states.record]
record = { max_secs = 10, stop_keys = "#*" }
next = "remind"
[bots.states.remind]
remind = { after_secs = 60, prompt = "hello", retry_on = ["busy", "noAnswer"] }
next = "transfer"
[bots.states.transfer]
transfer = "app:other-bot"
on_failure = "bye"
[bots.states.redirect]
redirect = ["u1", "u2"]
timeout_secs = 30
[bots.states.reject]
reject = "forbidden"
[bots.states.bye]
hangup = true
"##;
    let config = parse_text(&format!("{HEAD}{body}")).unwrap_or_else(|e| panic!("{e:?}"));
    let bot = &config.bots[0];
    assert_eq!(bot.timezone_name, "Europe/Berlin");
    assert_eq!(bot.rules.block, ["spammer", "robocaller"]);
    assert_eq!(bot.rules.block_reason, RejectReason::Busy);
    assert!(
        matches!(&bot.rules.closed, ClosedAction::Redirect { targets, timeout }
        if targets == &[PartyRef::User("night-desk".into())] && timeout.as_secs() == 20)
    );
    let state = |name: &str| &bot.flow.states[bot.flow.state_named(name).unwrap()];
    assert_eq!(
        state("start").play,
        [
            Prompt::Resource("hello".into()),
            Prompt::Uri("https://prompts.example.com/menu.wav".into())
        ]
    );
    let Action::Menu(menu) = &state("menu").action else {
        panic!()
    };
    assert!(
        menu.choices.iter().any(|(k, _)| *k == 'A'),
        "keys a-d are upper-cased"
    );
    let Action::Record(record) = &state("record").action else {
        panic!()
    };
    assert_eq!(
        (record.max_secs, record.stop_keys.clone()),
        (10, vec!['#', '*'])
    );
    let Action::Remind(remind) = &state("remind").action else {
        panic!()
    };
    assert_eq!(remind.attempts, 3, "default attempts");
    assert_eq!(remind.retry_on, ["busy", "noAnswer"]);
    assert!(
        matches!(&state("transfer").action, Action::Transfer(t) if t == &[PartyRef::App("other-bot".into())])
    );
    assert!(
        bot.parties
            .iter()
            .any(|(p, _)| p == &PartyRef::User("u2".into()))
    );
}

#[test]
fn toml_syntax_and_unknown_keys_are_located() {
    let errors = errors_of("[bots.states.start]\nplya = \"x\"\nhangup = true\n");
    assert_eq!(errors.len(), 1, "{errors:?}");
    let line = line_of("[bots.states.start]\nplya", "plya");
    assert!(
        errors[0].starts_with(&format!("bots.toml:{line}:")),
        "{errors:?}"
    );
    assert!(errors[0].contains("unknown field `plya`"), "{errors:?}");
    let errors = parse_text("[[bots]]\nid = \"x\"\nname = \n").unwrap_err();
    assert!(errors[0].starts_with("bots.toml:3:"), "{errors:?}");
}

#[test]
fn references_to_missing_states_prompts_and_services_are_errors() {
    let body = "[bots.states.start]\nplay = \"nope\"\nnext = \"menu\"\n[bots.states.end]\nanalyse = \"sentiment\"\nnext = \"start\"\n";
    let errors = errors_of(body);
    let joined = errors.join("\n");
    assert!(
        joined.contains(&format!(
            "bots.toml:{}:8: prompt 'nope' is not in [bots.prompts]",
            line_of(body, "play =")
        )),
        "{joined}"
    );
    assert!(
        joined.contains("state 'menu' does not exist; states: end, start"),
        "{joined}"
    );
    assert!(
        joined.contains("analysis service 'sentiment' is not defined"),
        "{joined}"
    );
}

#[test]
fn a_state_does_one_thing_and_has_a_way_on() {
    let body = "[bots.states.start]\nmenu = { \"1\" = \"start\" }\nrecord = {}\n";
    let errors = errors_of(body);
    assert!(
        errors[0].contains("has both 'menu' and 'record'"),
        "{errors:?}"
    );
    assert!(errors[0].starts_with(&format!("bots.toml:{}:", line_of(body, "record"))));

    let errors = errors_of("[bots.states.start]\nplay = \"https://x.example/a.wav\"\n");
    assert!(errors[0].contains("has no way on"), "{errors:?}");

    let errors = errors_of("[bots.states.start]\nhangup = true\nnext = \"start\"\n");
    assert!(
        errors[0].contains("next does not apply to hangup: it ends the call"),
        "{errors:?}"
    );
    let errors =
        errors_of("[bots.states.start]\nanswer = true\nnext = \"start\"\non_failure = \"start\"\n");
    assert!(
        errors[0].contains("on_failure does not apply to answer"),
        "{errors:?}"
    );
    let errors =
        errors_of("[bots.states.start]\nanswer = true\ntimeout_secs = 4\nnext = \"start\"\n");
    assert!(
        errors[0].contains("timeout_secs does not apply to answer"),
        "{errors:?}"
    );
}

#[test]
fn values_out_of_range_say_what_is_allowed() {
    let body = "[bots.states.start]\nredirect = \"u1\"\ntimeout_secs = 5\n";
    let errors = errors_of(body);
    assert!(
        errors[0].ends_with("timeout_secs = 5 is out of range; allowed: 15 to 90 seconds"),
        "{errors:?}"
    );
    let errors = errors_of("[bots.states.start]\nmenu = { \"12\" = \"start\" }\n");
    assert!(
        errors[0].contains("menu key '12' is not one key"),
        "{errors:?}"
    );
    let errors = errors_of("[bots.states.start]\nreject = \"rude\"\n");
    assert!(
        errors[0].contains("allowed: none, busy, forbidden"),
        "{errors:?}"
    );
    let errors = errors_of("[bots.states.start]\nrecord = { max_secs = 500 }\nnext = \"start\"\n");
    assert!(
        errors[0].contains("max_secs = 500 is out of range; allowed: 1 to 120"),
        "{errors:?}"
    );
    let errors = errors_of("timezone = \"Mars/Olympus\"\n[bots.states.start]\nhangup = true\n");
    assert!(
        errors[0].contains("timezone 'Mars/Olympus' is not an IANA time zone"),
        "{errors:?}"
    );
    let errors = errors_of(
        "[bots.rules]\nhours = [\"mon-fri 09:00-17:00\", \"someday 10:00-11:00\"]\n[bots.states.start]\nhangup = true\n",
    );
    assert!(errors[0].contains("'someday' is not a day"), "{errors:?}");
    assert!(errors[0].starts_with(&format!(
        "bots.toml:{}:",
        line_of("[bots.rules]\nhours", "hours")
    )));
}

#[test]
fn conditions_are_checked_with_the_column_of_the_fault() {
    let body = "[bots.states.start]\nanswer = true\nbranch = [{ if = \"digits = '1'\", goto = \"start\" }]\nnext = \"start\"\n";
    let errors = errors_of(body);
    // `branch = [{ if = "digits = '1'"`: the string opens at column 18; its '=' is at 26.
    let line = line_of(body, "branch");
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].starts_with(&format!(
            "bots.toml:{line}:26: condition: '=' is not an operator"
        )),
        "{errors:?}"
    );
    let errors = errors_of(
        "[bots.states.start]\nanswer = true\nbranch = [{ if = \"departmnet == 'x'\", goto = \"start\" }]\nnext = \"start\"\n",
    );
    assert!(
        errors[0].contains("unknown variable 'departmnet'"),
        "{errors:?}"
    );
    let ok = "[bots.states.start]\nset = { department = \"x\" }\nbranch = [{ if = \"department == 'x' and office.open\", goto = \"start\" }]\nnext = \"start\"\n";
    parse_text(&format!("{HEAD}{ok}")).unwrap_or_else(|e| panic!("{e:?}"));
}

#[test]
fn unreachable_states_and_unused_prompts_are_errors() {
    let body = "[bots.prompts]\nspare = \"spare\"\n[bots.states.start]\nhangup = true\n[bots.states.orphan]\nhangup = true\n";
    let errors = errors_of(body);
    let joined = errors.join("\n");
    assert!(
        joined.contains("prompt 'spare' is never played"),
        "{joined}"
    );
    assert!(
        joined.contains("state 'orphan' is never reached from the start state"),
        "{joined}"
    );
}

#[test]
fn duplicate_bot_ids_and_bad_analysis_entries_are_errors() {
    let text = format!(
        "{HEAD}[bots.states.start]\nhangup = true\n{HEAD}[bots.states.start]\nhangup = true\n[[analysis]]\nname = \"a\"\nurl = \"ftp://x\"\n[[analysis]]\nname = \"b\"\n"
    );
    let errors = parse_text(&text).unwrap_err().join("\n");
    assert!(
        errors.contains("bot id 'bot-1' is already used by the bot at line 3"),
        "{errors}"
    );
    assert!(
        errors.contains("url 'ftp://x' is not an http:// or https:// URL"),
        "{errors}"
    );
    assert!(errors.contains("needs exactly one of url"), "{errors}");
}
