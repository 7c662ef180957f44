"""Publishing templates to SageMaker Studio: Service Catalog products and S3 templates.

Publishing imports the templates (``sagemaker_projects_cdk.stacks``); a template never
imports publishing.
"""

from .publishing import StudioTemplate, StudioTemplates, StudioTemplatesStack, TemplateProductStack
from .synthesized import SynthesizedTemplateProduct

__all__ = ["StudioTemplate", "StudioTemplates", "StudioTemplatesStack", "SynthesizedTemplateProduct", "TemplateProductStack"]
