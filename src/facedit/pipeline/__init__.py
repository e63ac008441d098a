"""The batch pipeline of the first source document (SPEC §2): competition file names, required
outputs, translations applied per image, post-processing, quality gate, report, check and zip.

Modules: `names` (file names, required outputs), `regions` (post-processing weights), `render`
(one image, in any worker), `executors` (serial, local processes, Ray), `run` (the resumable
driver), `report`, `check` (validation and the submission archive), `projection`, `gate`,
`tiny` (random models for tests). Nothing heavy is imported here.
"""
