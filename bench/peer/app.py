"""The usual way to keep a FastAPI server answering while a renderer runs.

POST /jobs answers at once with an id; one background coroutine takes jobs
from an asyncio.Queue and runs them, one at a time, in a ProcessPoolExecutor
whose job runs the renderer binary; GET /jobs/{id} reads the status from a
dict. Nothing is written to disk: a restart forgets every job.

This is the baseline renderq is compared with (bench/compare), written as its
users write it, not tuned. Run it the way they do:

    PEER_TOKEN=secret PEER_RENDER=build/bin/renderq-render \
        uvicorn app:app --app-dir bench/peer --host 127.0.0.1 --port 8000

With PEER_FUNCTION=1 the job is not a scene but a call of the user's own
function, bench/compare/user_function.py's work(params), run in the same pool
(bench/compare/run --function compares it with renderq's Python runner): POST
/jobs takes {"mode": "sleep"|"cpu", "seconds": S}.

Environment: PEER_TOKEN (the bearer token every request must carry),
PEER_RENDER (the renderer, default `renderq-render` on PATH), PEER_RESULTS
(directory for the PNGs, default a fresh temporary one), PEER_RENDER_THREADS
(the renderer's --threads, default 0: all cores), PEER_RENDER_SLEEP (seconds:
when set, the pool's process sleeps that long instead of running the renderer,
as if the render ran on a GPU and cost this host no CPU; no PNG is written).
"""
import asyncio
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime, timezone

from fastapi import Depends, FastAPI, HTTPException, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Extra, confloat, conint

TOKEN = os.environ["PEER_TOKEN"]
RENDER = os.environ.get("PEER_RENDER", "renderq-render")
RESULTS = os.environ.get("PEER_RESULTS") or tempfile.mkdtemp(prefix="peer-results-")
RENDER_THREADS = os.environ.get("PEER_RENDER_THREADS", "0")
# Parsed here so that a bad value stops the server at start, not each job.
RENDER_SLEEP = float(os.environ["PEER_RENDER_SLEEP"]) if os.environ.get("PEER_RENDER_SLEEP") \
    else None
FUNCTION = os.environ.get("PEER_FUNCTION") == "1"
if FUNCTION:
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "compare"))
    import user_function  # noqa: E402

app = FastAPI(title="render queue (asyncio.Queue + ProcessPoolExecutor)")
jobs: dict[str, dict] = {}
queue: asyncio.Queue[str] = asyncio.Queue()
pool = ProcessPoolExecutor(max_workers=1)
bearer = HTTPBearer()


class Scene(BaseModel):
    """The fields the server looks at; the renderer checks the rest."""
    width: conint(ge=1, le=7680)
    height: conint(ge=1, le=4320)
    samples: conint(ge=1, le=65536)

    class Config:
        extra = Extra.allow


class Call(BaseModel):
    """The user's function's parameters (PEER_FUNCTION=1)."""
    mode: str
    seconds: confloat(ge=0, le=3600)

    class Config:
        extra = Extra.forbid


def check_token(credentials: HTTPAuthorizationCredentials = Depends(bearer)):
    if not secrets.compare_digest(credentials.credentials, TOKEN):
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "invalid token")


def now():
    return datetime.now(timezone.utc)


def render(scene_json: str, out: str) -> None:
    """Runs in the pool's process: the renderer on one scene, or the user's
    function on its parameters (PEER_FUNCTION=1)."""
    if FUNCTION:
        with open(out, "wb") as f:
            f.write(user_function.work(json.loads(scene_json)))
        return
    if RENDER_SLEEP is not None:
        time.sleep(RENDER_SLEEP)
        return
    with tempfile.NamedTemporaryFile("w", suffix=".json") as f:
        f.write(scene_json)
        f.flush()
        subprocess.run([RENDER, f.name, out, "--backend", "cpu", "--threads", RENDER_THREADS],
                       check=True, capture_output=True)


async def run_jobs():
    loop = asyncio.get_running_loop()
    while True:
        job = jobs[await queue.get()]
        job.update(state="running", started_at=now())
        try:
            await loop.run_in_executor(pool, render, job.pop("scene"),
                                       os.path.join(RESULTS, job["id"] + ".png"))
            job["state"] = "succeeded"
        except Exception as e:  # the job fails, the loop goes on
            job.update(state="failed", error=str(e))
        job["finished_at"] = now()


@app.on_event("startup")
async def start_runner():
    app.state.runner = asyncio.create_task(run_jobs())


def public(job):
    return {k: v for k, v in job.items() if k != "scene"}


async def submit(scene):
    job_id = str(uuid.uuid4())
    jobs[job_id] = {"id": job_id, "state": "queued", "created_at": now(), "started_at": None,
                    "finished_at": None, "scene": scene.json()}
    await queue.put(job_id)
    return public(jobs[job_id])


if FUNCTION:
    @app.post("/jobs", status_code=status.HTTP_201_CREATED, dependencies=[Depends(check_token)])
    async def submit_call(call: Call):
        return await submit(call)
else:
    @app.post("/jobs", status_code=status.HTTP_201_CREATED, dependencies=[Depends(check_token)])
    async def submit_scene(scene: Scene):
        return await submit(scene)


@app.get("/jobs/{job_id}", dependencies=[Depends(check_token)])
async def get_job(job_id: str):
    if job_id not in jobs:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such job")
    return public(jobs[job_id])
