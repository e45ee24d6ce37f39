//! The CSRF check of the page's forms, done once, as they are read.
//!
//! Every form that changes something carries the session's CSRF token (the hidden
//! `csrf` field every page puts in its forms). A handler takes such a form as
//! [`Checked<T>`]: the extractor reads the form and refuses it, before the handler runs,
//! unless its token is this session's ([`Ctx::csrf_ok`]); the refusal is
//! [`pages::csrf_refused`] (`403`), in the page's language. Without a session there is no
//! form to check: the request goes to `/welcome`, as every page does. A body that is not
//! the form expected is refused as axum's `Form` refuses it, before the token is looked
//! at.

use super::pages;
use super::{Ctx, Web};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::response::{IntoResponse, Response};
use axum::Form;
use serde::de::DeserializeOwned;
use std::future::Future;

/// A form whose CSRF token was this session's: the only way a page handler gets a form.
#[derive(Debug)]
pub(crate) struct Checked<T>(pub(crate) T);

/// A form sent by the page: how it is read from the request, and the token it carries.
pub(crate) trait Posted: Sized + Send {
    /// Reads the form; the rejection is the answer as it is.
    fn read(req: Request, web: &Web) -> impl Future<Output = Result<Self, Response>> + Send;

    /// The CSRF token the form carries; `None` only for a form that arrived broken,
    /// which carries nothing a handler could act on (the work form's `Upload`).
    fn token(&self) -> Option<&str>;
}

/// A URL-encoded form with a `csrf` field.
pub(crate) trait Tokened {
    /// The form's `csrf` field.
    fn csrf(&self) -> &str;
}

/// `impl Tokened` for forms whose token is their `csrf` field.
macro_rules! tokened {
    ($($form:ty),+ $(,)?) => {
        $(impl $crate::web::csrf::Tokened for $form {
            fn csrf(&self) -> &str {
                &self.csrf
            }
        })+
    };
}
pub(crate) use tokened;

impl<T> Posted for T
where
    T: Tokened + DeserializeOwned + Send,
{
    async fn read(req: Request, web: &Web) -> Result<Self, Response> {
        let Form(f) = Form::<T>::from_request(req, web)
            .await
            .map_err(IntoResponse::into_response)?;
        Ok(f)
    }

    fn token(&self) -> Option<&str> {
        Some(self.csrf())
    }
}

impl<T: Posted> FromRequest<Web> for Checked<T> {
    type Rejection = Response;

    async fn from_request(req: Request, web: &Web) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        let ctx = Ctx::from_request_parts(&mut parts, web).await?;
        let form = T::read(Request::from_parts(parts, body), web).await?;
        match form.token() {
            Some(token) if !ctx.csrf_ok(token) => Err(pages::csrf_refused(ctx.lang)),
            _ => Ok(Checked(form)),
        }
    }
}
