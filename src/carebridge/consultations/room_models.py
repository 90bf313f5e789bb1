"""The live session's own records: the case chat (with files shared into the case) and who was in
the video room when.

Attendance is written by the server when a socket joins or leaves the case's room, one row per
connection (a doctor on a phone and a laptop is two rows), so the record does not depend on a
browser remembering to report its own departure."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from carebridge.db import Base, IdType, UTCDateTime
from carebridge.kit.clock import utcnow


class ConsultationMessage(Base):
    __tablename__ = "consultation_messages"
    __table_args__ = (Index("ix_consultation_messages_case", "case_id", "id"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("consultation_cases.id"))
    author_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    # The name as it was when written: a chat transcript must not change when a user is renamed.
    author_name: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(String(4000), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    attachment_digest: Mapped[str | None] = mapped_column(String(64))  # sha256 in the blob store
    attachment_name: Mapped[str | None] = mapped_column(String(200))
    attachment_type: Mapped[str | None] = mapped_column(String(50))  # sniffed from the bytes
    attachment_size: Mapped[int | None] = mapped_column(Integer)


class SessionAttendance(Base):
    __tablename__ = "consultation_session_attendance"
    __table_args__ = (Index("ix_consultation_session_attendance_case", "case_id", "joined_at"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("consultation_cases.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    display_name: Mapped[str] = mapped_column(String(200))
    connection_id: Mapped[str] = mapped_column(String(64), unique=True)  # the room member id
    joined_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    left_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
