"""Pydantic models out of the notifications API."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict


class Output(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class NotificationOut(Output):
    id: int
    kind: str
    title: str
    body: str
    link: str
    created_at: dt.datetime
    read_at: dt.datetime | None


class NotificationPage(BaseModel):
    items: list[NotificationOut]
    next_cursor: str | None
    unread: int


class UnreadOut(BaseModel):
    unread: int


class DeliveryOut(Output):
    id: int
    notification_id: int
    user_id: int
    username: str
    display_name: str
    channel: str
    status: str
    attempts: int
    next_attempt_at: dt.datetime
    last_error: str
    created_at: dt.datetime
    sent_at: dt.datetime | None
    kind: str
    title: str
    retryable: bool


class StatusCountOut(Output):
    status: str
    channel: str
    count: int


class DeliveryPage(BaseModel):
    items: list[DeliveryOut]
    next_cursor: str | None
    counts: list[StatusCountOut]
