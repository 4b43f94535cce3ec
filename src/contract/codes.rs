//! Error codes as IAM spells them, and the JSON protocols' spelling of the same errors.
//!
//! IAM speaks awsQuery, whose error codes are bare (`AccessDenied`, `NoSuchEntity`); the JSON
//! protocols name the same errors with an `Exception` suffix (`AccessDeniedException`), and an
//! emulator that serves many services may answer IAM in that spelling (fakecloud 0.51 with
//! `--iam strict` does). Two questions are kept apart here, so that one deviation is reported on
//! one rule: what an answer *means* (the lifecycle and authorization rules judge that: a
//! `403 AccessDeniedException` still says the key authenticated and the request was refused), and
//! whether its code is spelled as IAM spells it (the error-envelope rule judges that). Pure: no IO.

use crate::model::Model;

/// IAM's code for "authenticated, but no policy allows it".
pub const ACCESS_DENIED: &str = "AccessDenied";

/// What the JSON protocols append to an error's name.
const JSON_SUFFIX: &str = "Exception";

/// Whether `code` means access denied: IAM's `AccessDenied` or its JSON spelling. The spelling
/// itself is judged separately ([`spelling_problem`]).
pub fn means_access_denied(code: Option<&str>) -> bool {
    code.is_some_and(|c| c == ACCESS_DENIED || c.strip_suffix(JSON_SUFFIX) == Some(ACCESS_DENIED))
}

/// What is wrong with an error code that is the JSON spelling of a code the model or the facts
/// give for IAM (`AccessDeniedException` for `AccessDenied`); `None` for IAM's own codes and for
/// codes neither knows in either spelling.
pub fn spelling_problem(model: &Model, code: Option<&str>) -> Option<String> {
    let code = code?;
    let bare = code.strip_suffix(JSON_SUFFIX).filter(|b| !b.is_empty())?;
    let known = |c: &str| super::judge::expected_error(model, c).is_some();
    (known(bare) && !known(code)).then(|| {
        format!("Code {code} is the JSON protocols' spelling; IAM (awsQuery) answers {bare}")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_denied_in_either_spelling_means_denied() {
        for (code, denied) in [
            (Some("AccessDenied"), true),
            (Some("AccessDeniedException"), true),
            (Some("AccessDeniedExceptionException"), false),
            (Some("accessdenied"), false),
            (Some("InvalidClientTokenId"), false),
            (Some("Exception"), false),
            (None, false),
        ] {
            assert_eq!(means_access_denied(code), denied, "{code:?}");
        }
    }

    #[test]
    fn only_json_spellings_of_known_iam_codes_are_problems() {
        let model = Model::embedded();
        let check = |code: Option<&str>, expected: Option<&str>| {
            assert_eq!(
                spelling_problem(model, code).as_deref(),
                expected,
                "{code:?}"
            );
        };
        check(
            Some("AccessDeniedException"),
            Some(
                "Code AccessDeniedException is the JSON protocols' spelling; IAM (awsQuery) answers AccessDenied",
            ),
        );
        check(
            Some("NoSuchEntityException"),
            Some(
                "Code NoSuchEntityException is the JSON protocols' spelling; IAM (awsQuery) answers NoSuchEntity",
            ),
        );
        check(Some("AccessDenied"), None);
        check(Some("NoSuchEntity"), None);
        // Unknown in both spellings: nothing to compare with (other rules judge the code).
        check(Some("UnrecognizedClientException"), None);
        check(Some("Exception"), None);
        check(None, None);
    }
}
