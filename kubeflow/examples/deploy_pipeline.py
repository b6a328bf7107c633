"""Sample Kubeflow Pipelines (KFP SDK v2) pipeline: deploy the inference server, then check it answers.

    pip install 'kfp>=2.7,<3'
    python kubeflow/examples/deploy_pipeline.py            # writes deploy_pipeline.yaml next to this file
    # upload deploy_pipeline.yaml in the Kubeflow Pipelines UI, or:
    #   kfp run create --experiment-name inference --package-file kubeflow/examples/deploy_pipeline.yaml \
    #       model_repository_uri=gs://my-bucket/model_repository name=simple \
    #       image=us-docker.pkg.dev/my-project/my-repo/inference-server:0.1.0

The deploy step runs `node /app/dist/kubeflow/deploy.js` in the server image, which you build from the Dockerfile and
push (no registry publishes it) and pass as `image`; KFP 2.4+ backends resolve the step image from that input. Its
service account needs the Role in kubeflow/rbac.yaml. The server pods read gs:// repositories with their own identity: pass `service_account` (a
Kubernetes ServiceAccount bound to a Google service account through Workload Identity, e.g. the one GcsModelRepository
creates) or make the bucket public.
"""

import pathlib

from kfp import compiler, dsl
from kfp.components import load_component_from_file

HERE = pathlib.Path(__file__).resolve().parent

# The v2 IR spec; component.yaml (KFP v1 format) loads the same way.
deploy_inference_server = load_component_from_file(str(HERE.parent / "component-v2.yaml"))


@dsl.component(base_image="python:3.12-slim")
def check_ready(endpoint: str, model: str, attempts: int = 60) -> str:
    """Polls the KServe v2 readiness URLs of the deployed server; fails the run if the model never becomes ready."""
    import time
    import urllib.error
    import urllib.request

    for url in (f"{endpoint}/v2/health/ready", f"{endpoint}/v2/models/{model}/ready"):
        for attempt in range(attempts):
            try:
                with urllib.request.urlopen(url, timeout=5) as response:
                    if response.status == 200:
                        break
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(5)
        else:
            raise RuntimeError(f"{url} did not answer 200 after {attempts} attempts")
    return f"{endpoint}/v2/models/{model}"


@dsl.pipeline(
    name="deploy-inference-server",
    description="Deploy the Triton/KServe-v2 compatible inference server on GKE GPUs and check that a model is ready.",
)
def deploy_pipeline(
    image: str,
    model_repository_uri: str = "gs://my-bucket/model_repository",
    name: str = "inference-server",
    namespace: str = "default",
    model: str = "simple",
    num_gpus: int = 1,
    accelerator: str = "nvidia-l4",
    min_replicas: int = 1,
    max_replicas: int = 1,
    service_type: str = "LoadBalancer",
    service_account: str = "",
):
    deploy = deploy_inference_server(
        model_repository_uri=model_repository_uri,
        name=name,
        namespace=namespace,
        image=image,
        num_gpus=num_gpus,
        accelerator=accelerator,
        min_replicas=min_replicas,
        max_replicas=max_replicas,
        service_type=service_type,
        service_account=service_account,
        timeout_seconds=1200,
    )
    # A deployment is a side effect: never reuse a cached result.
    deploy.set_caching_options(False)
    check = check_ready(endpoint=deploy.outputs["endpoint"], model=model)
    check.set_caching_options(False)


if __name__ == "__main__":
    compiler.Compiler().compile(deploy_pipeline, str(HERE / "deploy_pipeline.yaml"))
