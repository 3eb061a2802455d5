//! The condition language of `branch` entries: comparisons of call variables with literals,
//! joined by `and`, `or`, `not` and parentheses.
//!
//! ```text
//! analysis.sentiment == 'negative' and not (caller.id in ['a', 'b'])
//! analysis.confidence >= 0.7 or digits == '0'
//! ```
//!
//! Parsed once at start-up (errors carry the column inside the string) and evaluated per call
//! against a [`Lookup`]. A path that names nothing evaluates to `null`; a comparison with `null`
//! is false except `!=`. A string that reads as a number compares as that number with numbers, so
//! `digits == 1` works.

use std::fmt;

/// A value a condition works on.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// No value (a variable that is not set).
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A number (integer or decimal, held as `f64`), from a literal or a variable.
    Number(f64),
    /// A string: a quoted literal, or a variable such as `digits`.
    Str(String),
    /// A list of values (only as the right side of `in`).
    List(Vec<Value>),
}

impl Value {
    /// Whether the value counts as true on its own: `true`, a non-zero number, a non-empty string
    /// or list.
    pub fn truthy(&self) -> bool {
        match self {
            Value::Null => false,
            Value::Bool(b) => *b,
            Value::Number(n) => *n != 0.0,
            Value::Str(s) => !s.is_empty(),
            Value::List(l) => !l.is_empty(),
        }
    }

    /// The value of a JSON value (objects become `null`: only their fields can be compared).
    pub fn from_json(json: &serde_json::Value) -> Value {
        match json {
            serde_json::Value::Null | serde_json::Value::Object(_) => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => Value::Number(n.as_f64().unwrap_or(f64::NAN)),
            serde_json::Value::String(s) => Value::Str(s.clone()),
            serde_json::Value::Array(items) => {
                Value::List(items.iter().map(Value::from_json).collect())
            }
        }
    }

    fn as_number(&self) -> Option<f64> {
        match self {
            Value::Number(n) => Some(*n),
            Value::Str(s) => s.trim().parse().ok(),
            _ => None,
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str(""),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Number(n) => write!(f, "{n}"),
            Value::Str(s) => f.write_str(s),
            Value::List(items) => {
                let parts: Vec<String> = items.iter().map(ToString::to_string).collect();
                write!(f, "[{}]", parts.join(", "))
            }
        }
    }
}

/// Where conditions read variables from.
pub trait Lookup {
    /// The value at a dotted path such as `["analysis", "intent"]`; `Null` when unset.
    fn lookup(&self, path: &[String]) -> Value;
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `in`
    In,
}

/// A `branch` condition, parsed once at start-up and evaluated per call.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// A value written in the condition: `'text'`, a number, `true`, `false` or `null`.
    Literal(Value),
    /// A variable path, e.g. `analysis.intent`.
    Path(Vec<String>),
    /// A list written in the condition, such as `['a', 'b']` (the right side of `in`).
    List(Vec<Expr>),
    /// `not e`.
    Not(Box<Expr>),
    /// `a and b`.
    And(Box<Expr>, Box<Expr>),
    /// `a or b`.
    Or(Box<Expr>, Box<Expr>),
    /// `a <op> b`.
    Compare(CompareOp, Box<Expr>, Box<Expr>),
}

/// A condition that did not parse: what was wrong and at which character (0-based) of the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExprError {
    /// Character offset inside the condition text.
    pub offset: usize,
    /// What was wrong and what is allowed.
    pub reason: String,
}

impl Expr {
    /// Parses a condition.
    pub fn parse(text: &str) -> Result<Expr, ExprError> {
        let tokens = lex(text)?;
        let mut parser = Parser {
            tokens,
            at: 0,
            end: text.len(),
        };
        let expr = parser.or()?;
        if let Some(token) = parser.peek() {
            return Err(ExprError {
                offset: token.offset,
                reason: format!(
                    "unexpected {} after a complete condition; join conditions with 'and' or 'or'",
                    token.kind
                ),
            });
        }
        Ok(expr)
    }

    /// Every variable path the condition reads.
    pub fn paths(&self) -> Vec<&[String]> {
        let mut out = Vec::new();
        self.collect_paths(&mut out);
        out
    }

    fn collect_paths<'a>(&'a self, out: &mut Vec<&'a [String]>) {
        match self {
            Expr::Literal(_) => {}
            Expr::Path(p) => out.push(p),
            Expr::List(items) => items.iter().for_each(|e| e.collect_paths(out)),
            Expr::Not(e) => e.collect_paths(out),
            Expr::And(a, b) | Expr::Or(a, b) | Expr::Compare(_, a, b) => {
                a.collect_paths(out);
                b.collect_paths(out);
            }
        }
    }

    /// Evaluates the condition to a value.
    pub fn eval(&self, vars: &dyn Lookup) -> Value {
        match self {
            Expr::Literal(v) => v.clone(),
            Expr::Path(p) => vars.lookup(p),
            Expr::List(items) => Value::List(items.iter().map(|e| e.eval(vars)).collect()),
            Expr::Not(e) => Value::Bool(!e.eval(vars).truthy()),
            Expr::And(a, b) => Value::Bool(a.eval(vars).truthy() && b.eval(vars).truthy()),
            Expr::Or(a, b) => Value::Bool(a.eval(vars).truthy() || b.eval(vars).truthy()),
            Expr::Compare(op, a, b) => Value::Bool(compare(*op, &a.eval(vars), &b.eval(vars))),
        }
    }

    /// Whether the condition holds.
    pub fn holds(&self, vars: &dyn Lookup) -> bool {
        self.eval(vars).truthy()
    }
}

fn equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Null, _) | (_, Value::Null) => false,
        (Value::Str(x), Value::Str(y)) => x == y,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::List(x), Value::List(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| equal(p, q))
        }
        _ => match (a.as_number(), b.as_number()) {
            (Some(x), Some(y)) => x == y,
            _ => false,
        },
    }
}

fn compare(op: CompareOp, a: &Value, b: &Value) -> bool {
    match op {
        CompareOp::Eq => equal(a, b),
        CompareOp::Ne => !equal(a, b),
        CompareOp::In => match b {
            Value::List(items) => items.iter().any(|item| equal(a, item)),
            Value::Str(haystack) => match a {
                Value::Str(needle) => haystack.contains(needle.as_str()),
                _ => false,
            },
            _ => false,
        },
        CompareOp::Lt | CompareOp::Le | CompareOp::Gt | CompareOp::Ge => {
            let ordering = match (a, b) {
                (Value::Null, _) | (_, Value::Null) => None,
                (Value::Str(x), Value::Str(y))
                    if x.parse::<f64>().is_err() || y.parse::<f64>().is_err() =>
                {
                    Some(x.cmp(y))
                }
                _ => match (a.as_number(), b.as_number()) {
                    (Some(x), Some(y)) => x.partial_cmp(&y),
                    _ => None,
                },
            };
            let Some(ordering) = ordering else {
                return false;
            };
            match op {
                CompareOp::Lt => ordering.is_lt(),
                CompareOp::Le => ordering.is_le(),
                CompareOp::Gt => ordering.is_gt(),
                _ => ordering.is_ge(),
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum TokenKind {
    Str(String),
    Number(f64),
    Ident(String),
    Op(CompareOp),
    And,
    Or,
    Not,
    Open,
    Close,
    OpenList,
    CloseList,
    Comma,
    Dot,
}

impl fmt::Display for TokenKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenKind::Str(s) => write!(f, "string '{s}'"),
            TokenKind::Number(n) => write!(f, "number {n}"),
            TokenKind::Ident(i) => write!(f, "'{i}'"),
            TokenKind::Op(op) => write!(f, "operator {op:?}"),
            TokenKind::And => f.write_str("'and'"),
            TokenKind::Or => f.write_str("'or'"),
            TokenKind::Not => f.write_str("'not'"),
            TokenKind::Open => f.write_str("'('"),
            TokenKind::Close => f.write_str("')'"),
            TokenKind::OpenList => f.write_str("'['"),
            TokenKind::CloseList => f.write_str("']'"),
            TokenKind::Comma => f.write_str("','"),
            TokenKind::Dot => f.write_str("'.'"),
        }
    }
}

#[derive(Debug, Clone)]
struct Token {
    kind: TokenKind,
    offset: usize,
}

fn lex(text: &str) -> Result<Vec<Token>, ExprError> {
    let mut tokens = Vec::new();
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut i = 0;
    while i < chars.len() {
        let (offset, c) = chars[i];
        let token = |kind| Token { kind, offset };
        match c {
            c if c.is_whitespace() => {
                i += 1;
                continue;
            }
            '(' => tokens.push(token(TokenKind::Open)),
            ')' => tokens.push(token(TokenKind::Close)),
            '[' => tokens.push(token(TokenKind::OpenList)),
            ']' => tokens.push(token(TokenKind::CloseList)),
            ',' => tokens.push(token(TokenKind::Comma)),
            '.' => tokens.push(token(TokenKind::Dot)),
            '=' | '!' | '<' | '>' => {
                let next = chars.get(i + 1).map(|(_, c)| *c);
                let (op, width) = match (c, next) {
                    ('=', Some('=')) => (CompareOp::Eq, 2),
                    ('!', Some('=')) => (CompareOp::Ne, 2),
                    ('<', Some('=')) => (CompareOp::Le, 2),
                    ('>', Some('=')) => (CompareOp::Ge, 2),
                    ('<', _) => (CompareOp::Lt, 1),
                    ('>', _) => (CompareOp::Gt, 1),
                    _ => {
                        return Err(ExprError {
                            offset,
                            reason: format!(
                                "'{c}' is not an operator; allowed: ==, !=, <, <=, >, >=, in, and, or, not"
                            ),
                        });
                    }
                };
                tokens.push(token(TokenKind::Op(op)));
                i += width;
                continue;
            }
            '\'' | '"' => {
                let quote = c;
                let mut value = String::new();
                let mut j = i + 1;
                loop {
                    match chars.get(j) {
                        None => {
                            return Err(ExprError {
                                offset,
                                reason: format!("the string starting here has no closing {quote}"),
                            });
                        }
                        Some((_, ch)) if *ch == quote => break,
                        Some((_, ch)) => value.push(*ch),
                    }
                    j += 1;
                }
                tokens.push(token(TokenKind::Str(value)));
                i = j + 1;
                continue;
            }
            c if c.is_ascii_digit()
                || (c == '-' && chars.get(i + 1).is_some_and(|(_, d)| d.is_ascii_digit())) =>
            {
                let mut j = i + 1;
                while chars
                    .get(j)
                    .is_some_and(|(_, d)| d.is_ascii_digit() || *d == '.')
                {
                    j += 1;
                }
                let end = chars.get(j).map_or(text.len(), |(o, _)| *o);
                let literal = &text[offset..end];
                let number = literal.parse::<f64>().map_err(|_| ExprError {
                    offset,
                    reason: format!("'{literal}' is not a number"),
                })?;
                tokens.push(token(TokenKind::Number(number)));
                i = j;
                continue;
            }
            c if c.is_alphabetic() || c == '_' => {
                let mut j = i + 1;
                while chars
                    .get(j)
                    .is_some_and(|(_, d)| d.is_alphanumeric() || *d == '_' || *d == '-')
                {
                    j += 1;
                }
                let end = chars.get(j).map_or(text.len(), |(o, _)| *o);
                let word = &text[offset..end];
                tokens.push(token(match word {
                    "and" => TokenKind::And,
                    "or" => TokenKind::Or,
                    "not" => TokenKind::Not,
                    "in" => TokenKind::Op(CompareOp::In),
                    _ => TokenKind::Ident(word.to_owned()),
                }));
                i = j;
                continue;
            }
            other => {
                return Err(ExprError {
                    offset,
                    reason: format!(
                        "unexpected character '{other}'; conditions use variables, 'strings', numbers, ==, !=, <, <=, >, >=, in, and, or, not and ( )"
                    ),
                });
            }
        }
        i += 1;
    }
    Ok(tokens)
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
    end: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn next(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.at).cloned();
        self.at += 1;
        token
    }

    fn here(&self) -> usize {
        self.peek().map_or(self.end, |t| t.offset)
    }

    fn or(&mut self) -> Result<Expr, ExprError> {
        let mut left = self.and()?;
        while self.peek().is_some_and(|t| t.kind == TokenKind::Or) {
            self.at += 1;
            left = Expr::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, ExprError> {
        let mut left = self.not()?;
        while self.peek().is_some_and(|t| t.kind == TokenKind::And) {
            self.at += 1;
            left = Expr::And(Box::new(left), Box::new(self.not()?));
        }
        Ok(left)
    }

    fn not(&mut self) -> Result<Expr, ExprError> {
        if self.peek().is_some_and(|t| t.kind == TokenKind::Not) {
            self.at += 1;
            return Ok(Expr::Not(Box::new(self.not()?)));
        }
        self.comparison()
    }

    fn comparison(&mut self) -> Result<Expr, ExprError> {
        let left = self.primary()?;
        if let Some(Token {
            kind: TokenKind::Op(op),
            ..
        }) = self.peek().cloned()
        {
            self.at += 1;
            let right = self.primary()?;
            return Ok(Expr::Compare(op, Box::new(left), Box::new(right)));
        }
        Ok(left)
    }

    fn primary(&mut self) -> Result<Expr, ExprError> {
        let offset = self.here();
        let Some(token) = self.next() else {
            return Err(ExprError {
                offset,
                reason: "the condition ends where a value was expected".into(),
            });
        };
        match token.kind {
            TokenKind::Str(s) => Ok(Expr::Literal(Value::Str(s))),
            TokenKind::Number(n) => Ok(Expr::Literal(Value::Number(n))),
            TokenKind::Ident(word) => match word.as_str() {
                "true" => Ok(Expr::Literal(Value::Bool(true))),
                "false" => Ok(Expr::Literal(Value::Bool(false))),
                "null" => Ok(Expr::Literal(Value::Null)),
                _ => {
                    let mut path = vec![word];
                    while self.peek().is_some_and(|t| t.kind == TokenKind::Dot) {
                        self.at += 1;
                        let offset = self.here();
                        match self.next() {
                            Some(Token {
                                kind: TokenKind::Ident(part),
                                ..
                            }) => path.push(part),
                            _ => {
                                return Err(ExprError {
                                    offset,
                                    reason: "a name must follow '.'".into(),
                                });
                            }
                        }
                    }
                    Ok(Expr::Path(path))
                }
            },
            TokenKind::Open => {
                let inner = self.or()?;
                self.expect(TokenKind::Close, "')' to close the '(' ")?;
                Ok(inner)
            }
            TokenKind::OpenList => {
                let mut items = Vec::new();
                if self.peek().is_some_and(|t| t.kind == TokenKind::CloseList) {
                    self.at += 1;
                    return Ok(Expr::List(items));
                }
                loop {
                    items.push(self.primary()?);
                    let offset = self.here();
                    match self.next().map(|t| t.kind) {
                        Some(TokenKind::Comma) => {}
                        Some(TokenKind::CloseList) => return Ok(Expr::List(items)),
                        _ => {
                            return Err(ExprError {
                                offset,
                                reason: "expected ',' or ']' in the list".into(),
                            });
                        }
                    }
                }
            }
            other => Err(ExprError {
                offset: token.offset,
                reason: format!(
                    "expected a value (a variable, 'string', number, true, false, null, [list] or '('), found {other}"
                ),
            }),
        }
    }

    fn expect(&mut self, kind: TokenKind, what: &str) -> Result<(), ExprError> {
        let offset = self.here();
        match self.next() {
            Some(token) if token.kind == kind => Ok(()),
            _ => Err(ExprError {
                offset,
                reason: format!("expected {what}"),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    struct Vars(HashMap<String, Value>);

    impl Lookup for Vars {
        fn lookup(&self, path: &[String]) -> Value {
            self.0.get(&path.join(".")).cloned().unwrap_or(Value::Null)
        }
    }

    fn vars() -> Vars {
        Vars(HashMap::from([
            ("digits".into(), Value::Str("1".into())),
            ("analysis.intent".into(), Value::Str("billing".into())),
            ("analysis.sentiment".into(), Value::Str("negative".into())),
            ("analysis.confidence".into(), Value::Number(0.82)),
            ("caller.id".into(), Value::Str("u-1".into())),
            ("time".into(), Value::Str("09:30".into())),
            ("office.open".into(), Value::Bool(true)),
        ]))
    }

    fn holds(text: &str) -> bool {
        Expr::parse(text)
            .unwrap_or_else(|e| panic!("{text}: {e:?}"))
            .holds(&vars())
    }

    #[test]
    fn comparisons_logic_and_lists() {
        assert!(holds("analysis.intent == 'billing'"));
        assert!(holds(
            "analysis.sentiment == \"negative\" and analysis.intent != 'sales'"
        ));
        assert!(!holds(
            "analysis.intent == 'sales' or analysis.confidence < 0.5"
        ));
        assert!(holds("analysis.confidence >= 0.8"));
        assert!(holds("digits == 1"), "a numeric string equals the number");
        assert!(holds("caller.id in ['u-2', 'u-1']"));
        assert!(holds("not (caller.id in ['x'])"));
        assert!(holds("time >= '09:00' and time < '17:00'"));
        assert!(holds("office.open"));
        assert!(
            !holds("analysis.missing == 'x'"),
            "unset is null; null equals nothing"
        );
        assert!(holds("analysis.missing != 'x'"));
        assert!(holds("analysis.missing == null or true"));
        assert!(
            holds("'bill' in analysis.intent"),
            "in on a string is a substring test"
        );
    }

    #[test]
    fn precedence_is_not_then_and_then_or() {
        // false and false or true == (false and false) or true
        assert!(holds("digits == '2' and digits == '3' or digits == '1'"));
        assert!(!holds("digits == '2' and (digits == '3' or digits == '1')"));
        assert!(holds("not digits == '2'"));
    }

    #[test]
    fn errors_point_at_the_character() {
        let error = Expr::parse("analysis.intent = 'x'").unwrap_err();
        assert_eq!(error.offset, 16);
        assert!(error.reason.contains("not an operator"), "{}", error.reason);
        let error = Expr::parse("digits == 'unterminated").unwrap_err();
        assert_eq!(error.offset, 10);
        let error = Expr::parse("digits == ").unwrap_err();
        assert_eq!(error.offset, 10);
        assert!(error.reason.contains("ends where a value"));
        let error = Expr::parse("digits == '1' digits").unwrap_err();
        assert_eq!(error.offset, 14);
        let error = Expr::parse("(digits == '1'").unwrap_err();
        assert!(error.reason.contains("')'"), "{}", error.reason);
        let error = Expr::parse("digits ~ 1").unwrap_err();
        assert_eq!(error.offset, 7);
    }

    #[test]
    fn paths_lists_every_variable_read() {
        let expr = Expr::parse("a.b == c or not d in [e, 'x']").unwrap();
        let paths: Vec<String> = expr.paths().iter().map(|p| p.join(".")).collect();
        assert_eq!(paths, ["a.b", "c", "d", "e"]);
    }
}
