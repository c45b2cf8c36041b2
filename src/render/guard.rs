//! The memory guard: minijinja's fuel bounds a render's work, not what it allocates. One step can
//! build a 100 MB string (`"x" * 100000000`) and a few dozen steps can double a text past any
//! memory (`{% set a = a ~ a %}` in a loop or a chain, a macro calling itself with `s ~ s`). So a
//! template is read (its syntax tree, before minijinja compiles it: compiling folds constants, so
//! it would build that string itself) and refused, with the line and a pt-BR reason, when it uses
//! something that can grow a value beyond what the event and the template text hold:
//!
//! - `~`, and `+`, `*`, `**` unless the operands are numbers (`+` with one number operand is
//!   arithmetic or an error, never text);
//! - blocks that keep their text in memory instead of writing it out, where the output cap does
//!   not reach (`{% set x %}…{% endset %}`, `{% filter %}`, `{% macro %}`, `{% call %}`);
//! - filters that make their output as large as an argument says (`indent`, `format`, `batch`,
//!   `slice`) or apply a filter named in a string (`map`).
//!
//! What is left grows at most a small factor over its inputs, and `replace` and `join` (the
//! environment's own, capped) stop at `MAX_OUTPUT_BYTES`. Message templates need none of what is
//! refused: `{{ a }}{{ b }}` writes two texts one after the other.

use minijinja::machinery::ast::{BinOpKind, CallArg, Expr, Stmt, UnaryOpKind};
use minijinja::machinery::parse;
use minijinja::syntax::SyntaxConfig;

use super::RenderError;

/// Filters whose output size an argument sets, or that apply a filter by name.
const GROWING_FILTERS: &[&str] = &["indent", "format", "batch", "slice", "map"];

/// Filters whose result is always a number (or an error).
const NUMERIC_FILTERS: &[&str] = &["int", "float", "length", "count", "round", "abs"];

/// Refuses a template that could allocate beyond its inputs (see the module doc). A template
/// that does not parse passes: the syntax check that follows reports it with its own words.
pub(super) fn check(source: &str) -> Result<(), RenderError> {
    match parse(source, "<modelo>", SyntaxConfig::default()) {
        Ok(tree) => stmt(&tree),
        Err(_) => Ok(()),
    }
}

fn refuse(line: u16, message: &str) -> Result<(), RenderError> {
    Err(RenderError::Syntax {
        line: usize::from(line.max(1)),
        message: message.to_owned(),
    })
}

const CAPTURE: &str = "blocos que guardam texto ({% set %}…{% endset %}, {% filter %}, {% macro %}, \
                       {% call %}) não são aceitos em mensagens: escreva o texto direto no modelo";

fn stmts(list: &[Stmt<'_>]) -> Result<(), RenderError> {
    list.iter().try_for_each(stmt)
}

fn stmt(s: &Stmt<'_>) -> Result<(), RenderError> {
    match s {
        Stmt::Template(t) => stmts(&t.children),
        Stmt::EmitExpr(e) => expr(&e.expr),
        Stmt::EmitRaw(_) => Ok(()),
        Stmt::ForLoop(f) => {
            expr(&f.target)?;
            expr(&f.iter)?;
            f.filter_expr.as_ref().map_or(Ok(()), expr)?;
            stmts(&f.body)?;
            stmts(&f.else_body)
        }
        Stmt::IfCond(c) => {
            expr(&c.expr)?;
            stmts(&c.true_body)?;
            stmts(&c.false_body)
        }
        Stmt::WithBlock(w) => {
            for (target, value) in &w.assignments {
                expr(target)?;
                expr(value)?;
            }
            stmts(&w.body)
        }
        Stmt::Set(set) => {
            expr(&set.target)?;
            expr(&set.expr)
        }
        Stmt::AutoEscape(a) => {
            expr(&a.enabled)?;
            stmts(&a.body)
        }
        Stmt::Do(d) => {
            expr(&d.call.expr)?;
            args(&d.call.args)
        }
        Stmt::SetBlock(b) => refuse(b.span().start_line, CAPTURE),
        Stmt::FilterBlock(b) => refuse(b.span().start_line, CAPTURE),
        Stmt::Macro(m) => refuse(m.span().start_line, CAPTURE),
        Stmt::CallBlock(c) => refuse(c.span().start_line, CAPTURE),
        Stmt::Continue(_) | Stmt::Break(_) => Ok(()),
        // Blocks, imports and includes: a message template has no other templates to reach,
        // so they fail when rendering.
        _ => Ok(()),
    }
}

fn args(list: &[CallArg<'_>]) -> Result<(), RenderError> {
    list.iter().try_for_each(|arg| match arg {
        CallArg::Pos(e) | CallArg::Kwarg(_, e) | CallArg::PosSplat(e) | CallArg::KwargSplat(e) => {
            expr(e)
        }
    })
}

fn expr(e: &Expr<'_>) -> Result<(), RenderError> {
    match e {
        Expr::Var(_) | Expr::Const(_) => Ok(()),
        Expr::Slice(s) => {
            expr(&s.expr)?;
            for part in [&s.start, &s.stop, &s.step].into_iter().flatten() {
                expr(part)?;
            }
            Ok(())
        }
        Expr::UnaryOp(u) => expr(&u.expr),
        Expr::BinOp(b) => {
            let line = b.span().start_line;
            match b.op {
                BinOpKind::Concat => refuse(
                    line,
                    "`~` junta textos e pode crescer sem limite: escreva um depois do outro, \
                     como {{ a }}{{ b }}",
                )?,
                BinOpKind::Add if !numeric(&b.left) && !numeric(&b.right) => refuse(
                    line,
                    "`+` só soma números aqui (um dos lados precisa ser um número, como \
                     {{ x + 1 }}): para juntar textos, escreva um depois do outro, como {{ a }}{{ b }}",
                )?,
                BinOpKind::Mul | BinOpKind::Pow if !(numeric(&b.left) && numeric(&b.right)) => {
                    refuse(
                        line,
                        "`*` e `**` só multiplicam números escritos no modelo: repetir um texto \
                         pode ocupar memória sem limite",
                    )?
                }
                _ => {}
            }
            expr(&b.left)?;
            expr(&b.right)
        }
        Expr::Compare(c) => {
            expr(&c.expr)?;
            c.ops.iter().try_for_each(|op| expr(&op.expr))
        }
        Expr::IfExpr(i) => {
            expr(&i.test_expr)?;
            expr(&i.true_expr)?;
            i.false_expr.as_ref().map_or(Ok(()), expr)
        }
        Expr::Filter(f) => {
            if GROWING_FILTERS.contains(&f.name) {
                refuse(
                    f.span().start_line,
                    &format!(
                        "o filtro `{}` não é aceito em mensagens: pode fazer um texto tão grande \
                         quanto um número pedir",
                        f.name
                    ),
                )?;
            }
            f.expr.as_ref().map_or(Ok(()), expr)?;
            args(&f.args)
        }
        Expr::Test(t) => {
            expr(&t.expr)?;
            args(&t.args)
        }
        Expr::GetAttr(g) => expr(&g.expr),
        Expr::GetItem(g) => {
            expr(&g.expr)?;
            expr(&g.subscript_expr)
        }
        Expr::Call(c) => {
            expr(&c.expr)?;
            args(&c.args)
        }
        Expr::List(l) => l.items.iter().try_for_each(expr),
        Expr::Tuple(t) => t.items.iter().try_for_each(expr),
        Expr::Map(m) => {
            m.keys.iter().try_for_each(expr)?;
            m.values.iter().try_for_each(expr)
        }
    }
}

/// Whether `e` always gives a number (or a boolean, or an error), never a text or a list.
fn numeric(e: &Expr<'_>) -> bool {
    match e {
        Expr::Const(c) => matches!(
            c.value.kind(),
            minijinja::value::ValueKind::Number | minijinja::value::ValueKind::Bool
        ),
        Expr::UnaryOp(u) => matches!(u.op, UnaryOpKind::Neg | UnaryOpKind::Not),
        Expr::BinOp(b) => match b.op {
            BinOpKind::Sub | BinOpKind::Div | BinOpKind::FloorDiv | BinOpKind::Rem => true,
            BinOpKind::Eq
            | BinOpKind::Ne
            | BinOpKind::Lt
            | BinOpKind::Lte
            | BinOpKind::Gt
            | BinOpKind::Gte
            | BinOpKind::In => true,
            BinOpKind::Add => numeric(&b.left) || numeric(&b.right),
            BinOpKind::Mul | BinOpKind::Pow | BinOpKind::ScAnd | BinOpKind::ScOr => {
                numeric(&b.left) && numeric(&b.right)
            }
            BinOpKind::Concat => false,
        },
        Expr::Compare(_) | Expr::Test(_) => true,
        Expr::Filter(f) => NUMERIC_FILTERS.contains(&f.name),
        Expr::IfExpr(i) => numeric(&i.true_expr) && i.false_expr.as_ref().is_some_and(numeric),
        _ => false,
    }
}
