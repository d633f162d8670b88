"""Stack-file config: the pydantic models a stack file validates into, and the errors that name its keys.

Every check runs here, before any resource exists. Add-on config models live with their builders in
`manifests/`; `platform.PlatformConfig` composes them with the cluster, pool and isolation models.
"""
