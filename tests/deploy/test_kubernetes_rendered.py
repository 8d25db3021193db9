"""deploy/k8s rendered by kustomize (or `kubectl kustomize`): both overlays build, every pod meets
the `restricted` Pod Security Standard, every reference resolves, and every object matches the
Kubernetes OpenAPI schemas (with kubernetes-validate). Skipped, saying why, without the tools."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.deploy.manifests import K8S, PLATFORM_IMAGE_PREFIXES, containers, pod_templates

Build = Callable[[Path], list[dict[str, Any]]]
# The oldest Kubernetes the manifests are written for (native gRPC probes are GA since 1.27).
KUBERNETES_VERSION = "1.30.0"


def is_platform_pod(pod_spec: dict[str, Any]) -> bool:
    return all(c["image"].startswith(PLATFORM_IMAGE_PREFIXES) for c in containers(pod_spec))


def test_overlays_render(kustomize_build: Build, overlays: list[Path]) -> None:
    for overlay in overlays:
        documents = kustomize_build(overlay)
        namespaces = {d["metadata"].get("namespace") for d in documents if d["kind"] != "Namespace"}
        (namespace,) = [d for d in documents if d["kind"] == "Namespace"]
        assert namespaces == {namespace["metadata"]["name"]}, overlay.name


def test_rendered_pods_meet_the_restricted_pod_security_standard(
    kustomize_build: Build, overlays: list[Path]
) -> None:
    for overlay in overlays:
        documents = kustomize_build(overlay)
        (namespace,) = [d for d in documents if d["kind"] == "Namespace"]
        assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
        for workload, pod in pod_templates(documents):
            name = f"{overlay.name}/{workload['metadata']['name']}"
            assert pod["securityContext"]["runAsNonRoot"] is True, name
            assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, name
            for container in containers(pod):
                context = container["securityContext"]
                assert context["allowPrivilegeEscalation"] is False, name
                assert context["capabilities"]["drop"] == ["ALL"], name
                if is_platform_pod(pod):
                    assert context["readOnlyRootFilesystem"] is True, name


def test_rendered_references_resolve(kustomize_build: Build, overlays: list[Path]) -> None:
    for overlay in overlays:
        documents = kustomize_build(overlay)
        names = {(d["kind"], d["metadata"]["name"]) for d in documents}
        generated_secrets = {d["metadata"]["name"]: d for d in documents if d["kind"] == "Secret"}
        for workload, pod in pod_templates(documents):
            where = f"{overlay.name}/{workload['metadata']['name']}"
            if "serviceAccountName" in pod:
                assert ("ServiceAccount", pod["serviceAccountName"]) in names, where
            for volume in pod.get("volumes", []):
                if "persistentVolumeClaim" in volume:
                    claim = volume["persistentVolumeClaim"]["claimName"]
                    assert ("PersistentVolumeClaim", claim) in names, where
            for container in containers(pod):
                for source in container.get("envFrom", []):
                    if "configMapRef" in source:
                        assert ("ConfigMap", source["configMapRef"]["name"]) in names, where
                for entry in container.get("env", []):
                    reference = entry.get("valueFrom", {}).get("secretKeyRef")
                    if reference is None:
                        continue
                    if overlay.name == "prod":
                        # Created outside git (docs/deploy.md).
                        assert reference["name"] == "shopee-secrets", where
                    else:
                        secret = generated_secrets[reference["name"]]
                        assert reference["key"] in secret["data"], where


def test_prod_images_come_from_the_registry_with_a_pinned_tag(kustomize_build: Build) -> None:
    documents = kustomize_build(K8S / "overlays" / "prod")
    for _, pod in pod_templates(documents):
        for container in containers(pod):
            image, _, tag = container["image"].rpartition(":")
            assert image.startswith("registry.example.com/shopee-analytics/"), image
            assert tag not in ("", "latest"), image


def test_rendered_objects_match_the_kubernetes_schemas(
    kustomize_build: Build, overlays: list[Path]
) -> None:
    validator = pytest.importorskip(
        "kubernetes_validate", reason="kubernetes-validate is not installed: schemas not checked"
    )
    for overlay in overlays:
        for document in kustomize_build(overlay):
            if document["apiVersion"].startswith("monitoring.coreos.com/"):
                continue  # Prometheus Operator CRDs: no schema in the Kubernetes OpenAPI
            try:
                validator.validate(document, KUBERNETES_VERSION, strict=True)
            except validator.ValidationError as error:
                pytest.fail(
                    f"{overlay.name} {document['kind']}/{document['metadata']['name']}: {error}"
                )
