"""The API's own documents: the OpenAPI description and Swagger UI, served from the controller's
vendored files (controller/static/swagger) so they work on a site without internet. Outside the
demo (SITEGUARD_PUBLIC_DOCS=1) only a logged-in user may read them: they map every operation."""
from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from controller.auth import DB, optional_user
from controller.deps import SettingsDep

router = APIRouter(include_in_schema=False)
SWAGGER = "/static/swagger"


def _may_read(request: Request, db, settings) -> bool:
    return settings.public_docs or optional_user(request, db) is not None


@router.get("/openapi.json")
def openapi_document(request: Request, db: DB, settings: SettingsDep) -> JSONResponse:
    if not _may_read(request, db, settings):
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "login required",
                            headers={"WWW-Authenticate": "Bearer"})
    return JSONResponse(request.app.openapi())


@router.get("/docs", response_class=HTMLResponse)
def swagger_ui(request: Request, db: DB, settings: SettingsDep) -> Response:
    if not _may_read(request, db, settings):
        return RedirectResponse("/login", status_code=status.HTTP_303_SEE_OTHER)
    return get_swagger_ui_html(
        openapi_url="/openapi.json", title=f"{request.app.title} API",
        swagger_js_url=f"{SWAGGER}/swagger-ui-bundle.js", swagger_css_url=f"{SWAGGER}/swagger-ui.css",
        swagger_favicon_url=f"{SWAGGER}/favicon-32x32.png",
        swagger_ui_parameters={"validatorUrl": None},  # never ask validator.swagger.io
    )
