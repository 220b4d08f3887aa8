"""An AMA through the offline harness, from /ama open to the summary: a thread, the guest role, questions
by command and by the Ask button's modal, upvotes that order the questions, quoted answers that ping
nobody, a summary at close, expiry by timer across a restart, and moderator commands refused."""
from __future__ import annotations



TOPIC = "Blending winter teas"


def thread_of(g):
    opening = g.channel("lounge").messages[-1]
    assert opening.thread is not None, "the opening post has no thread"
    return opening, opening.thread


async def test_an_ama_from_open_to_summary_with_upvote_ordering(harness):
    g = await harness()
    r = await g.slash("/ama open", user="mod", guest="carol", topic=TOPIC)
    assert r.ephemeral and TOPIC in r.content
    opening, thread = thread_of(g)
    assert TOPIC in opening.content and f"<@{g.user_id('carol')}>" in opening.content
    assert opening.mentions == []  # the guest is named, not pinged
    assert opening.username == "Sakura-chan"  # the persona hosts it (the bot has Manage Webhooks)
    assert "guest" in g.member("carol").roles

    # three questions: by command, and by the Ask button -> modal
    r = await g.slash("/ama ask", user="alice", question="What is your favourite blend?")
    assert r.ephemeral and "#1" in r.content
    await g.click("Ask a question", on=opening, user="bob")
    r = await g.submit_modal({"question": "How do you pick the leaves?"}, user="bob")
    assert "#2" in r.content
    await g.slash("/ama ask", user="mod", question="Any collab coming? @everyone")
    posted = [m for m in thread.messages if "Question #" in m.content]
    assert [m.content.splitlines()[-1] for m in posted] == [
        "> What is your favourite blend?", "> How do you pick the leaves?", "> Any collab coming? @everyone"]
    assert all(not m.mention_everyone and m.mentions == [] for m in posted)

    # upvotes: #2 gets two, #3 one, #1 none; one per member
    assert posted[1].buttons == ["▲ Upvote #2 (0)"]
    r = await g.click("Upvote #2", on=posted[1], user="alice")
    assert r.ephemeral and "now 1" in r.content
    assert posted[1].buttons == ["▲ Upvote #2 (1)"]  # everyone in the thread sees the count
    await g.slash("/ama upvote", user="mod", id=2)
    await g.click("Upvote #3", on=posted[2], user="bob")
    r = await g.slash("/ama upvote", user="alice", id=2)
    assert r.content == g.app.t("ama.already_upvoted", id=2)
    r = await g.slash("/ama upvote", user="alice", id=1)
    assert r.content == g.app.t("ama.own_question")

    # the guest sees them ranked; a member may not
    r = await g.slash("/ama questions", user="carol")
    lines = r.content.splitlines()[1:]
    assert [line.split(" · ")[0] for line in lines] == ["#2", "#3", "#1"]
    assert [line.split(" · ")[1] for line in lines] == ["2 ▲", "1 ▲", "0 ▲"]
    r = await g.slash("/ama questions", user="alice")
    assert r.content == g.app.t("ama.guest_or_moderator_only")

    # the guest answers: in the thread, the question quoted, nobody pinged
    await g.slash("/ama answer", user="carol", id=2)
    r = await g.submit_modal({"answer": "By hand, at dawn."}, user="carol")
    assert r.ephemeral
    answer = thread.messages[-1]
    assert "> How do you pick the leaves?" in answer.content and "By hand, at dawn." in answer.content
    assert answer.mentions == [] and not answer.mention_everyone
    r = await g.slash("/ama answer", user="alice", id=1)
    assert r.content == g.app.t("ama.guest_or_moderator_only")

    # close: a summary with the top questions in vote order, the guest role taken back
    r = await g.slash("/ama close", user="mod")
    assert "1 answered, 2 unanswered" in r.content
    summary = thread.messages[-1].content
    assert "Answered: 1 · Unanswered: 2" in summary
    assert summary.index("#2 (2 ▲)") < summary.index("#3 (1 ▲)") < summary.index("#1 (0 ▲)")
    assert "✅" in summary.splitlines()[3]  # #2, the top one, was answered
    assert "guest" not in g.member("carol").roles
    r = await g.slash("/ama ask", user="alice", question="too late?")
    assert r.content == g.app.t("ama.no_session")


async def test_moderator_commands_are_refused_to_members(harness):
    g = await harness()
    refused = g.app.t("core.not_moderator")
    r = await g.slash("/ama open", user="alice", guest="bob", topic="mine")
    assert r.ephemeral and r.content == refused
    r = await g.slash("/ama close", user="alice")
    assert r.content == refused
    r = await g.slash("/stats", user="alice")
    assert r.ephemeral and r.content == refused and r.files == []
    assert g.channel("lounge").messages == [] or "AMA" not in g.channel("lounge").messages[-1].content


async def test_a_visitor_may_not_ask_and_the_guest_may_not_be_a_bot(harness):
    g = await harness()
    await g.slash("/ama open", user="mod", guest="carol", topic=TOPIC, channel="announcements")
    opening = g.channel("announcements").messages[-1]
    assert opening.thread is not None
    r = await g.slash("/ama ask", user="vera", question="can I?", where="lounge")
    assert r.content == g.app.t("ama.members_only")
    r = await g.slash("/ama open", user="mod", guest="bob", topic="second")
    assert r.content == g.app.t("ama.already_open", topic=TOPIC)


async def test_a_session_with_an_end_closes_itself_even_across_a_restart(harness):
    g = await harness()
    await g.slash("/ama open", user="mod", guest="carol", topic=TOPIC, until="2h")
    await g.slash("/ama ask", user="alice", question="Quick one?")
    _, thread = thread_of(g)
    await g.advance(hours=1)
    await g.restart()
    assert "guest" in g.member("carol").roles
    await g.advance(hours=2)
    assert "guest" not in g.member("carol").roles
    summaries = [m for m in thread.messages if "Answered: 0 · Unanswered: 1" in m.content]
    assert len(summaries) == 1
    r = await g.slash("/ama ask", user="bob", question="still open?")
    assert r.content == g.app.t("ama.no_session")


async def test_the_ask_button_of_a_closed_session_says_so(harness):
    g = await harness()
    await g.slash("/ama open", user="mod", guest="carol", topic=TOPIC)
    opening, _ = thread_of(g)
    await g.slash("/ama close", user="mod")
    assert opening.button_components[0].get("disabled")  # greyed out once the close is posted
    # a member whose client still shows the old post (the edit not seen yet) is told, with no modal
    opening.components[0]["components"][0]["disabled"] = False
    r = await g.click("Ask a question", on=opening, user="alice")
    assert r.ephemeral and r.content == g.app.t("ama.session_closed", topic=TOPIC)
    assert g.modal_for("alice") is None


async def test_a_long_question_leaves_less_room_and_the_guest_sees_the_real_limit_before_typing(harness):
    """An AMA answer of 1,800 characters to a 500-character question made a 2,381-character post that
    Discord refused, after the guest was told it was posted."""
    g = await harness()
    await g.slash("/ama open", user="mod", guest="carol", topic=TOPIC)
    _, thread = thread_of(g)
    question = "\n".join(["Why " + "w" * 45] * 10)[:500]  # ten lines: each is quoted with "> "
    await g.slash("/ama ask", user="alice", question=question)
    await g.slash("/ama answer", user="carol", id=1)
    [field] = g.modal_fields(g.modal_for("carol"))
    room = field["max_length"]
    assert room < 1800
    assert str(room) in g.modal_for("carol")["components"][0]["label"]  # the label says it too
    r = await g.submit_modal({"answer": "a" * room}, user="carol")
    assert r.content == g.app.t("ama.answered", id=1)
    post = thread.messages[-1]
    assert len(post.content) <= 2000 and post.content.endswith("a" * room)


async def test_an_answer_over_the_room_is_refused_and_never_called_posted(harness):
    g = await harness()
    await g.slash("/ama open", user="mod", guest="carol", topic=TOPIC)
    _, thread = thread_of(g)
    await g.slash("/ama ask", user="alice", question="q" * 500)
    question = (await g.app.ama.ranked(g.world.guild_id, g.user_id("mod"), is_moderator=True))[1][0]
    room = g.app.ama.room_for_answer(question, g.user_id("carol"))
    before = len(thread.messages)
    from bot.errors import UserError
    try:
        await g.app.ama.answer(g.world.guild_id, g.user_id("carol"), question.id, "a" * 1800, is_moderator=False)
    except UserError as exc:
        assert exc.key == "ama.answer_too_long" and exc.params["max"] == room
    else:
        raise AssertionError("an answer that cannot fit was accepted")
    await g.settle()
    assert len(thread.messages) == before
    assert not (await g.app.ama.ranked(g.world.guild_id, g.user_id("mod"), is_moderator=True))[1][0].answered
