"""Where to check every answer on chain, and whether the service is healthy."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import StateDep
from api.schemas import ChainInfo, Health
from ledger.adapters.store.outbox import not_anchored_count
from ledger.core.answer import chain_label
from ledger.usecases.verify import index_freshness

router = APIRouter(tags=["chain"])


@router.get("/v1/chain", response_model=ChainInfo)
def chain_info(state: StateDep) -> ChainInfo:
    fresh = index_freshness(state.context).model_dump()
    return ChainInfo(
        chain_id=state.deployment.chain_id,
        contract=state.deployment.address,
        deploy_block=state.deployment.block,
        deploy_tx=state.deployment.tx_hash,
        abi=state.abi,
        **fresh,
        **chain_label(state.context.development_chain),
    )


@router.get("/healthz", response_model=Health)
def health(state: StateDep) -> Health:
    fresh = index_freshness(state.context).model_dump()
    pending = not_anchored_count(state.db)
    return Health(
        status="ok",
        chain_id=state.deployment.chain_id,
        contract=state.deployment.address,
        indexed_block=fresh["indexed_block"],
        head_block=fresh["head_block"],
        seconds_behind=fresh["seconds_behind"],
        pending_registrations=pending or 0,
    )
