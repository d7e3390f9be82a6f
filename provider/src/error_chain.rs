//! An error and its causes as one line, for a diagnostic's detail: many
//! errors' own text hides the cause (reqwest says "error sending request").

/// `err: cause: cause of the cause ...`.
pub fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    #[derive(Debug, thiserror::Error)]
    #[error("outer")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn every_cause_is_written_in_order() {
        let err = Outer(std::io::Error::other("inner"));
        assert_eq!(super::error_chain(&err), "outer: inner");
    }
}
