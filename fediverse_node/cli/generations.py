"""`fediverse-node generation show ID | cancel ID`: what became of an image request, and stopping one."""

from __future__ import annotations

import click
from sqlalchemy.ext.asyncio import AsyncConnection

from fediverse_node.cli.common import CommandFailed, run_with_services, settings_from_context
from fediverse_node.services import Services
from fediverse_node.store import generations as generation_store
from fediverse_node.store.generations import GenerationJob


@click.group("generation")
def generation_group() -> None:
    """Image requests: their state and progress, and cancelling them."""


async def _job_or_fail(conn: AsyncConnection, job_id: int) -> GenerationJob:
    job = await generation_store.get_generation(conn, job_id)
    if job is None:
        raise CommandFailed(f"no generation {job_id}")
    return job


@generation_group.command("show")
@click.argument("job_id", type=int)
@click.pass_context
def show_command(ctx: click.Context, job_id: int) -> None:
    """State, progress and outcome of generation JOB_ID."""
    settings = settings_from_context(ctx)

    async def work(services: Services) -> str:
        async with services.database.read() as conn:
            job = await _job_or_fail(conn, job_id)
        lines = [f"generation {job.id}: {job.state}", f"progress: step {job.progress_step} of {job.progress_total}",
                 f"tries: {job.attempts} of {job.max_attempts}", f"seed: {job.seed}"]
        if job.outcome:
            lines.append(f"outcome: {job.outcome}")
        if job.error:
            lines.append(f"reason: {job.error}")
        return "\n".join(lines)

    click.echo(run_with_services(settings, work))


@generation_group.command("cancel")
@click.argument("job_id", type=int)
@click.pass_context
def cancel_command(ctx: click.Context, job_id: int) -> None:
    """Cancel generation JOB_ID: at once while it waits, at its next step while it runs."""
    settings = settings_from_context(ctx)

    async def work(services: Services) -> str:
        async with services.database.write() as conn:
            job = await _job_or_fail(conn, job_id)
            if job.state in generation_store.FINAL_STATES:
                raise CommandFailed(f"generation {job_id} has already ended ({job.state})")
            state = await generation_store.request_cancel(conn, job_id)
        if state == generation_store.RUNNING:
            return f"generation {job_id} stops at its next step"
        return f"generation {job_id} canceled"

    click.echo(run_with_services(settings, work))
