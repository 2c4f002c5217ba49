"""The seed's bot control API under `/api/ml/`: status, should-train, train and initialize, per bot profile.

A profile names the base model, the alias the bot calls and its data stream; `?profile=` picks one (default
"default"), so a bot written for the seed's bare paths works unchanged.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from services.gateway.bots.profiles import DEFAULT_PROFILE, BotProfile, ProfileSettings
from services.gateway.deps import JOB_SLOT, BotsDep, Owner
from services.gateway.schemas.bots import (
    AddData,
    ConversationImport,
    ImportConversations,
    Initialized,
    MlStatus,
    ProfileList,
    ShouldTrain,
    TrainRequest,
    TrainStarted,
)

router = APIRouter(prefix="/api/ml", tags=["bots"])
Profile = Annotated[str, Query(description="The bot profile", min_length=1, max_length=64)]


@router.put("/profiles/{name}", summary="Create or change a bot profile", response_model=BotProfile)
def put_profile(name: str, body: ProfileSettings, owner: Owner, bots: BotsDep) -> BotProfile:
    """Set the base model, the alias moved on success, the epochs and the retrain policy (data and jobs stay)."""
    return bots.put_profile(owner, name, body)


@router.get("/profiles", summary="Your bot profiles", response_model=ProfileList)
def list_profiles(owner: Owner, bots: BotsDep) -> ProfileList:
    """Every profile of the caller."""
    return ProfileList(data=bots.profiles.list(owner))


@router.get("/profiles/{name}", summary="A bot profile with its data stream and jobs", response_model=BotProfile)
def get_profile(name: str, owner: Owner, bots: BotsDep) -> BotProfile:
    """One profile."""
    return bots.profiles.get(owner, name)


@router.post("/profiles/{name}/data", summary="Append a file to a profile's data stream", response_model=BotProfile)
def add_data(name: str, body: AddData, owner: Owner, bots: BotsDep) -> BotProfile:
    """A fine-tune file of yours becomes new data for the profile's next job."""
    return bots.add_data(owner, name, body.file_id)


@router.post(
    "/profiles/{name}/import",
    summary="Import a chat export into a profile's data stream",
    response_model=ConversationImport,
)
def import_conversations(name: str, body: ImportConversations, owner: Owner, bots: BotsDep) -> ConversationImport:
    """Threads joined, bots and commands dropped, personal data redacted, scored, deduplicated, appended as a file."""
    return bots.import_conversations(owner, name, body.file_id)


@router.get("/status", summary="The bot's ML status", response_model=MlStatus)
async def status(owner: Owner, bots: BotsDep, profile: Profile = DEFAULT_PROFILE) -> MlStatus:
    """Its model and alias, running and last jobs, new data, the policy's answer, and whether ML is ready."""
    return await bots.status(owner, profile)


@router.get("/should-train", summary="Whether the bot's model is due for training", response_model=ShouldTrain)
async def should_train(owner: Owner, bots: BotsDep, profile: Profile = DEFAULT_PROFILE) -> ShouldTrain:
    """The profile's policy applied now, with its reasons."""
    record, decision = await bots.should_train(owner, profile)
    return ShouldTrain(
        profile=profile,
        should_train=decision.should_train,
        reasons=decision.reasons,
        new_examples=decision.new_examples,
        new_files=decision.new_files,
        policy=record.policy,
    )


@router.post("/train", summary="Train on the profile's new data", response_model=TrainStarted, dependencies=[JOB_SLOT])
async def train(
    owner: Owner, bots: BotsDep, body: TrainRequest | None = None, profile: Profile = DEFAULT_PROFILE
) -> TrainStarted:
    """Start a job from what the alias serves now on the new data; its success moves the alias."""
    request = body or TrainRequest()
    return await bots.train(owner, profile, epochs=request.epochs, force=request.force)


@router.post("/initialize", summary="Load and pin the bot's model", response_model=Initialized)
async def initialize(owner: Owner, bots: BotsDep, profile: Profile = DEFAULT_PROFILE) -> Initialized:
    """Load the base model and pin the alias's adapter so the first reply is fast; reports the time it took."""
    return await bots.initialize(owner, profile)
