"""The C2PA Soft Binding Resolution API (C2PA 2.2, OpenAPI "C2PA Soft Binding Resolution API" 1.0.0), served at
``/v1/c2pa``: a C2PA client configured with the endpoint ``{this service}/v1/c2pa`` finds the manifests of
registered pictures by a binding value or by an image, and fetches a manifest by its id. The algorithms are the
ledger's own, namespaced (``ledger.core.soft_binding``). Public and read-only, like verify; no OAuth (the spec's
``fetch:manifests`` scope guards nothing here that verify does not already answer).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from api.deps import StateDep, read_body
from ledger.core.soft_binding import SoftBindingQuery, SoftBindingQueryResult, SupportedAlgorithms
from ledger.usecases.soft_binding import by_binding, by_content, manifest

router = APIRouter(prefix="/v1/c2pa", tags=["c2pa soft binding"])

AlgQuery = Annotated[str, Query(max_length=200, description="a soft-binding algorithm of /services/supportedAlgorithms")]
MaxResults = Annotated[int | None, Query(alias="maxResults", ge=1, le=1000, description="default 10, at most 100")]


@router.get("/matches/byBinding", response_model=SoftBindingQueryResult, response_model_exclude_none=True)
def query_by_binding(state: StateDep, alg: AlgQuery, value: Annotated[str, Query(max_length=1000)],
                     max_results: MaxResults = None) -> SoftBindingQueryResult:  # fmt: skip
    """Manifests of registrations whose binding is ``value`` (base64 of the hash's 32 bytes)."""
    return SoftBindingQueryResult(matches=by_binding(state.verify_context, alg, value, max_results))


@router.post("/matches/byBinding", response_model=SoftBindingQueryResult, response_model_exclude_none=True)
def query_by_large_binding(state: StateDep, query: SoftBindingQuery, max_results: MaxResults = None) -> SoftBindingQueryResult:
    return SoftBindingQueryResult(matches=by_binding(state.verify_context, query.alg, query.value, max_results))


@router.post("/matches/byContent", response_model=SoftBindingQueryResult, response_model_exclude_none=True,
             openapi_extra={"requestBody": {"required": True, "content": {"image/*": {"schema": {"type": "string",
                                                                                               "format": "binary"}}}}})
async def query_by_content(request: Request, state: StateDep,
                           alg: Annotated[str | None, Query(max_length=200)] = None, max_results: MaxResults = None,
                           hint_alg: Annotated[str | None, Query(alias="hintAlg", max_length=200)] = None,
                           hint_value: Annotated[str | None, Query(alias="hintValue", max_length=1000)] = None,
                           ) -> SoftBindingQueryResult:  # fmt: skip
    """Manifests of registrations the image in the body (raw bytes, ``Content-Type: image/...``) matches: without
    ``alg`` by every step of verify (exact, pixels, perceptual, crops, keypoints), with ``alg`` by that binding only.
    ``hintAlg``/``hintValue`` are accepted and not needed: the image itself is matched."""
    data = await read_body(request, state.settings.max_upload_bytes)
    async with state.decodes.slot():
        found = await run_in_threadpool(by_content, state.verify_context, data, alg, max_results)
    return SoftBindingQueryResult(matches=found)


@router.get("/manifests/{manifest_id:path}", response_class=Response,
            responses={200: {"content": {"application/c2pa": {}, "application/json": {}}}})
def get_manifest(state: StateDep, manifest_id: Annotated[str, Path(max_length=300)]) -> Response:
    """A manifest by id: the C2PA manifest store a registered file carried (``application/c2pa``), or the ledger's
    own manifest of a record (``urn:provenance-ledger:record:<uid>``, ``application/json``). The whole store is
    returned (``returnActiveManifest`` is not supported)."""
    found = manifest(state.context, manifest_id)
    return Response(found.data, media_type=found.media_type, headers={"Cache-Control": "public, max-age=300"})


@router.get("/services/supportedAlgorithms", response_model=SupportedAlgorithms)
def supported_algorithms() -> SupportedAlgorithms:
    return SupportedAlgorithms()
