__title__ = "pulumi-cortecs-instances"
__version__ = "0.1.0"
