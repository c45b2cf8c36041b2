//! The memory guard: minijinja's fuel bounds a render's steps, not what one step allocates.
//! `{{ "x" * 100000000 }}` is one step and 100 MB; `~`, `+` and `*` on texts or lists, blocks that
//! keep their text in memory (`{% set %}…{% endset %}`, macros, `{% filter %}`), filters whose
//! output an argument sizes (`indent`, `batch`, `format`) or that turn a text into a list of its
//! letters (`list`, `map`, `sort`) each grow a value cheaply, and chained (`{% set a = a ~ a %}`
//! forty times, `x | list | string` repeated) they outgrow any machine before the output cap sees
//! a byte.
//!
//! So a template is read (its syntax tree, before minijinja compiles it: compiling folds constant
//! expressions, so it would build `"x" * 100000000` itself) against an **allow-list** of what a
//! message needs, and anything else is refused with its line and a pt-BR reason:
//!
//! - statements: text, `{{ … }}`, `{% if %}`, `{% for %}` (at most `MAX_LOOP_DEPTH` deep, not
//!   `recursive`), `{% break %}` and `{% continue %}`;
//! - expressions: variables, constants, `.attr` and `[item]`, slices, `not` and `-`,
//!   comparisons, `and`/`or`, `x if c else y`, tests (`is defined`, …), list and map literals of
//!   constants; `-`, `/`, `//`, `%` (numbers only); `+` when one side is a number and `*`, `**`
//!   when both are (`numeric`);
//! - filters: `ALLOWED_FILTERS`, each returning at most about its input, or capped (`replace`,
//!   `join`: the environment's own, stopping at `MAX_OUTPUT_BYTES`).
//!
//! No function calls, no variables of the template's own. What is left makes no value much
//! larger than the event and the template text, and holds at most one value per open loop
//! and per operand of the expression being computed.

use minijinja::machinery::ast::{BinOpKind, CallArg, Expr, Stmt};
use minijinja::machinery::parse;
use minijinja::syntax::SyntaxConfig;
use minijinja::value::ValueKind;

use super::RenderError;

/// Filters a message may use: each returns about its input's size or less, or is capped.
pub const ALLOWED_FILTERS: &[&str] = &[
    "brl",
    "first_name",
    "date_br", // avisa's own
    "upper",
    "lower",
    "title",
    "capitalize",
    "trim", // the same text, reshaped
    "default",
    "d",
    "first",
    "last",
    "min",
    "max", // one of the values given
    "length",
    "count",
    "int",
    "float",
    "round",
    "abs",
    "bool", // a number
    "replace",
    "join", // capped at the output limit (`super::capped_replace`, `capped_join`)
];

/// How many `{% for %}` may be open one inside another.
pub const MAX_LOOP_DEPTH: usize = 3;

/// Variables of the context that are always a number (or empty, which `*` repeats into
/// nothing): `total_cents`, and the products' `price_cents` and `quantity` in a loop over
/// `products`.
const NUMERIC_VARS: &[&str] = &["total_cents"];
const NUMERIC_PRODUCT_FIELDS: &[&str] = &["price_cents", "quantity"];
/// `loop.index` and its kin (inside a `{% for %}`; outside, they fail as undefined).
const LOOP_NUMBERS: &[&str] = &[
    "index",
    "index0",
    "revindex",
    "revindex0",
    "length",
    "depth",
    "depth0",
];

/// Refuses a template that uses what the allow-list leaves out (see the module doc). A template
/// that does not parse passes: the syntax check that follows reports it in its own words.
pub(super) fn check(source: &str) -> Result<(), RenderError> {
    match parse(source, "<modelo>", SyntaxConfig::default()) {
        Ok(tree) => Guard::default().stmt(&tree),
        Err(_) => Ok(()),
    }
}

/// What a name stands for inside the loops open at a point.
#[derive(Clone, Copy, PartialEq)]
enum Bound {
    /// An item of `products`.
    Product,
    Other,
}

#[derive(Default)]
struct Guard<'a> {
    /// The loop variables in scope, innermost last.
    loops: Vec<Vec<(&'a str, Bound)>>,
}

fn refuse(line: u16, message: impl Into<String>) -> Result<(), RenderError> {
    Err(RenderError::NotAllowed {
        line: usize::from(line.max(1)),
        message: message.into(),
    })
}

const OWN_VARIABLES: &str = "variáveis do próprio modelo ({% set %}, {% with %}) não são aceitas \
                             em mensagens: use o valor direto, como {{ customer.name | first_name }}";
const CAPTURE: &str = "blocos que guardam texto ({% macro %}, {% call %}, {% filter %}, \
                       {% set %}…{% endset %}) não são aceitos em mensagens: escreva o texto \
                       direto no modelo";
const OTHER_TEMPLATES: &str = "uma mensagem não usa outros modelos ({% extends %}, {% include %}, \
                               {% import %}, {% block %})";

impl<'a> Guard<'a> {
    fn stmts(&mut self, list: &[Stmt<'a>]) -> Result<(), RenderError> {
        list.iter().try_for_each(|s| self.stmt(s))
    }

    fn stmt(&mut self, s: &Stmt<'a>) -> Result<(), RenderError> {
        match s {
            Stmt::Template(t) => self.stmts(&t.children),
            Stmt::EmitExpr(e) => self.expr(&e.expr),
            Stmt::EmitRaw(_) | Stmt::Continue(_) | Stmt::Break(_) => Ok(()),
            Stmt::IfCond(c) => {
                self.expr(&c.expr)?;
                self.stmts(&c.true_body)?;
                self.stmts(&c.false_body)
            }
            Stmt::ForLoop(f) => {
                let line = f.span().start_line;
                if f.recursive {
                    return refuse(line, "laços `recursive` não são aceitos em mensagens");
                }
                if self.loops.len() >= MAX_LOOP_DEPTH {
                    return refuse(
                        line,
                        format!(
                            "no máximo {MAX_LOOP_DEPTH} repetições ({{% for %}}) uma dentro da outra"
                        ),
                    );
                }
                self.expr(&f.iter)?;
                let bound = match &f.iter {
                    Expr::Var(v) if v.id == "products" && !self.is_bound(v.id) => Bound::Product,
                    _ => Bound::Other,
                };
                let mut names = Vec::new();
                match &f.target {
                    Expr::Var(v) => names.push((v.id, bound)),
                    // `for a, b in …`: the parser reads the names as a list.
                    Expr::List(t) => {
                        for item in &t.items {
                            match item {
                                Expr::Var(v) => names.push((v.id, Bound::Other)),
                                _ => return refuse(line, "escreva `{% for item in lista %}`"),
                            }
                        }
                    }
                    _ => return refuse(line, "escreva `{% for item in lista %}`"),
                }
                self.loops.push(names);
                let body = f
                    .filter_expr
                    .as_ref()
                    .map_or(Ok(()), |e| self.expr(e))
                    .and_then(|()| self.stmts(&f.body));
                self.loops.pop();
                body?;
                self.stmts(&f.else_body)
            }
            Stmt::Set(x) => refuse(x.span().start_line, OWN_VARIABLES),
            Stmt::WithBlock(x) => refuse(x.span().start_line, OWN_VARIABLES),
            Stmt::SetBlock(x) => refuse(x.span().start_line, CAPTURE),
            Stmt::FilterBlock(x) => refuse(x.span().start_line, CAPTURE),
            Stmt::Macro(x) => refuse(x.span().start_line, CAPTURE),
            Stmt::CallBlock(x) => refuse(x.span().start_line, CAPTURE),
            Stmt::Do(x) => refuse(x.span().start_line, CAPTURE),
            Stmt::AutoEscape(x) => refuse(
                x.span().start_line,
                "{% autoescape %} não se aplica a mensagens (o texto vai como está)",
            ),
            Stmt::Block(x) => refuse(x.span().start_line, OTHER_TEMPLATES),
            Stmt::Import(x) => refuse(x.span().start_line, OTHER_TEMPLATES),
            Stmt::FromImport(x) => refuse(x.span().start_line, OTHER_TEMPLATES),
            Stmt::Extends(x) => refuse(x.span().start_line, OTHER_TEMPLATES),
            Stmt::Include(x) => refuse(x.span().start_line, OTHER_TEMPLATES),
        }
    }

    fn bound(&self, name: &str) -> Option<Bound> {
        self.loops
            .iter()
            .rev()
            .flatten()
            .find(|(n, _)| *n == name)
            .map(|(_, b)| *b)
    }

    fn is_bound(&self, name: &str) -> bool {
        self.bound(name).is_some()
    }

    fn args(&self, list: &[CallArg<'a>]) -> Result<(), RenderError> {
        list.iter().try_for_each(|arg| match arg {
            CallArg::Pos(e)
            | CallArg::Kwarg(_, e)
            | CallArg::PosSplat(e)
            | CallArg::KwargSplat(e) => self.expr(e),
        })
    }

    fn expr(&self, e: &Expr<'a>) -> Result<(), RenderError> {
        match e {
            Expr::Var(_) | Expr::Const(_) => Ok(()),
            Expr::GetAttr(g) => self.expr(&g.expr),
            Expr::GetItem(g) => {
                self.expr(&g.expr)?;
                self.expr(&g.subscript_expr)
            }
            Expr::Slice(s) => {
                self.expr(&s.expr)?;
                [&s.start, &s.stop, &s.step]
                    .into_iter()
                    .flatten()
                    .try_for_each(|part| self.expr(part))
            }
            Expr::UnaryOp(u) => self.expr(&u.expr),
            Expr::BinOp(b) => {
                let line = b.span().start_line;
                match b.op {
                    BinOpKind::Concat => refuse(
                        line,
                        "`~` junta textos e pode crescer sem limite: escreva um depois do outro, \
                         como {{ a }}{{ b }}",
                    )?,
                    BinOpKind::Add if !self.numeric(&b.left) && !self.numeric(&b.right) => refuse(
                        line,
                        "`+` só soma números aqui (um dos lados precisa ser um número, como \
                         {{ total_cents + 500 }}): para juntar textos, escreva um depois do outro, \
                         como {{ a }}{{ b }}",
                    )?,
                    BinOpKind::Mul | BinOpKind::Pow
                        if !(self.numeric(&b.left) && self.numeric(&b.right)) =>
                    {
                        refuse(
                            line,
                            "`*` e `**` só multiplicam números (converta com `| int`, como \
                             {{ x | int * 2 }}): repetir um texto pode ocupar memória sem limite",
                        )?
                    }
                    _ => {}
                }
                self.expr(&b.left)?;
                self.expr(&b.right)
            }
            Expr::Compare(c) => {
                self.expr(&c.expr)?;
                c.ops.iter().try_for_each(|op| self.expr(&op.expr))
            }
            Expr::IfExpr(i) => {
                self.expr(&i.test_expr)?;
                self.expr(&i.true_expr)?;
                i.false_expr.as_ref().map_or(Ok(()), |e| self.expr(e))
            }
            Expr::Filter(f) => {
                if !ALLOWED_FILTERS.contains(&f.name) {
                    let line = f.span().start_line;
                    let allowed = ALLOWED_FILTERS.join(", ");
                    if !engine_has_filter(f.name) {
                        return Err(RenderError::Syntax {
                            line: usize::from(line.max(1)),
                            message: format!(
                                "filtro desconhecido `{}`: os filtros das mensagens são {allowed}",
                                f.name
                            ),
                        });
                    }
                    refuse(
                        line,
                        format!(
                            "o filtro `{}` não é aceito em mensagens: os filtros são {allowed}",
                            f.name
                        ),
                    )?;
                }
                f.expr.as_ref().map_or(Ok(()), |e| self.expr(e))?;
                self.args(&f.args)
            }
            Expr::Test(t) => {
                self.expr(&t.expr)?;
                self.args(&t.args)
            }
            Expr::Call(c) => refuse(
                c.span().start_line,
                "funções (como range, namespace ou um método) não são aceitas em mensagens",
            ),
            Expr::List(_) | Expr::Tuple(_) | Expr::Map(_) if !constant(e) => refuse(
                span_line(e),
                "listas e mapas escritos no modelo só podem ter valores fixos, como \
                 [\"pix\", \"boleto\"]",
            ),
            Expr::List(_) | Expr::Tuple(_) | Expr::Map(_) => Ok(()),
        }
    }

    /// Whether `e` always gives a number (or a boolean, or empty, or an error), never a text or
    /// a list that `*` could repeat.
    fn numeric(&self, e: &Expr<'a>) -> bool {
        match e {
            Expr::Const(c) => matches!(c.value.kind(), ValueKind::Number | ValueKind::Bool),
            Expr::Var(v) => NUMERIC_VARS.contains(&v.id) && !self.is_bound(v.id),
            Expr::GetAttr(g) => match &g.expr {
                Expr::Var(v) if v.id == "payment" && !self.is_bound(v.id) => {
                    g.name == "installments"
                }
                Expr::Var(v) if v.id == "loop" && !self.is_bound(v.id) => {
                    LOOP_NUMBERS.contains(&g.name)
                }
                Expr::Var(v) => {
                    self.bound(v.id) == Some(Bound::Product)
                        && NUMERIC_PRODUCT_FIELDS.contains(&g.name)
                }
                _ => false,
            },
            Expr::UnaryOp(_) | Expr::Compare(_) | Expr::Test(_) => true,
            Expr::BinOp(b) => match b.op {
                BinOpKind::Sub | BinOpKind::Div | BinOpKind::FloorDiv | BinOpKind::Rem => true,
                BinOpKind::Eq
                | BinOpKind::Ne
                | BinOpKind::Lt
                | BinOpKind::Lte
                | BinOpKind::Gt
                | BinOpKind::Gte
                | BinOpKind::In => true,
                BinOpKind::Add => self.numeric(&b.left) || self.numeric(&b.right),
                BinOpKind::Mul | BinOpKind::Pow | BinOpKind::ScAnd | BinOpKind::ScOr => {
                    self.numeric(&b.left) && self.numeric(&b.right)
                }
                BinOpKind::Concat => false,
            },
            Expr::Filter(f) => {
                matches!(
                    f.name,
                    "int" | "float" | "round" | "abs" | "length" | "count" | "bool"
                )
            }
            Expr::IfExpr(i) => {
                self.numeric(&i.true_expr) && i.false_expr.as_ref().is_some_and(|e| self.numeric(e))
            }
            _ => false,
        }
    }
}

/// Whether minijinja has a filter of this name (a refusal then says "not allowed", not
/// "unknown"). Asked only on the way to a refusal: a one-tag render of an empty value.
fn engine_has_filter(name: &str) -> bool {
    let env = minijinja::Environment::new();
    let probe = format!("{{{{ none | {name} }}}}");
    !matches!(
        env.render_str(&probe, ()),
        Err(e) if e.kind() == minijinja::ErrorKind::UnknownFilter
    )
}

/// A literal made of constants only (nested literals included).
fn constant(e: &Expr<'_>) -> bool {
    match e {
        Expr::Const(_) => true,
        Expr::List(l) => l.items.iter().all(constant),
        Expr::Tuple(t) => t.items.iter().all(constant),
        Expr::Map(m) => m.keys.iter().chain(&m.values).all(constant),
        _ => false,
    }
}

fn span_line(e: &Expr<'_>) -> u16 {
    match e {
        Expr::List(x) => x.span().start_line,
        Expr::Tuple(x) => x.span().start_line,
        Expr::Map(x) => x.span().start_line,
        _ => 1,
    }
}
