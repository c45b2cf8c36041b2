//! nuvemshop: placeholder until its recogniser lands (being written now).

use super::{Draft, ParseError, Request, SignatureError};

pub(super) fn parse(_req: &Request) -> Result<Vec<Draft>, ParseError> {
    Err(ParseError::UnknownShape(
        "recogniser not written yet".into(),
    ))
}

pub(super) fn verify(_secret: &str, _req: &Request) -> Result<(), SignatureError> {
    Err(SignatureError::Mismatch)
}

/// Fixtures where this recogniser knowingly disagrees with EXPECTED.json: (file, why).
#[cfg(test)]
pub(super) const REFERENCE_DISAGREEMENTS: &[(&str, &str)] = &[];
