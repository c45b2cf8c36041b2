//! Message text rendering (minijinja, strict undefined, no HTML escaping), its filters and
//! template validation. Pure: uses only `domain`. Filled by the Messages work.
